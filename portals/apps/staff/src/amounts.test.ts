import { expect, it } from "vitest";
import { majorText, toMinor } from "./invoices";

it("reads an amount typed in major units exactly", () => {
  expect(toMinor("49.99", "USD")).toBe(4999);
  expect(toMinor("49,9", "EUR")).toBe(4990);
  expect(toMinor("500", "JPY")).toBe(500);
  expect(toMinor("1.234", "BHD")).toBe(1234);
});

it("refuses text that is no amount in the currency", () => {
  expect(toMinor("12.345", "USD")).toBeNaN();
  expect(toMinor("-1", "USD")).toBeNaN();
  expect(toMinor("ten", "USD")).toBeNaN();
});

it("writes minor units back as major-unit text", () => {
  expect(majorText(4999, "USD")).toBe("49.99");
  expect(majorText(5, "USD")).toBe("0.05");
  expect(majorText(500, "JPY")).toBe("500");
});
