import { describe, expect, it } from "vitest";
import { bytes, date, dateTime, minorDigits, money } from "./format";

const en = { locale: "en-US", timeZone: "UTC" };

describe("money", () => {
  it("shows minor units in the currency's own decimals", () => {
    expect(money(12345, "USD", en)).toBe("$123.45");
    expect(money(500, "JPY", en)).toBe("¥500");
    expect(money(1234, "BHD", en)).toBe("BHD\u00a01.234");
    expect(money(-5, "USD", en)).toBe("-$0.05");
    expect(minorDigits("KWD")).toBe(3);
  });

  it("keeps every digit of amounts beyond a double's precision", () => {
    expect(money(9007199254740993n, "USD", en)).toBe("$90,071,992,547,409.93");
  });

  it("follows the locale", () => {
    expect(money(123456, "EUR", { locale: "de-DE", timeZone: "UTC" })).toBe("1.234,56\u00a0€");
  });
});

describe("dates", () => {
  it("shows an instant in the instance's time zone", () => {
    const at = "2026-12-04T23:30:00Z";
    expect(dateTime(at, { locale: "en-GB", timeZone: "Africa/Lagos" })).toBe("5 Dec 2026, 00:30");
    expect(dateTime(at, { locale: "en-GB", timeZone: "America/New_York" })).toBe("4 Dec 2026, 18:30");
  });

  it("shows a calendar date as that day in every zone", () => {
    expect(date("2026-12-01", { locale: "en-GB", timeZone: "Pacific/Kiritimati" })).toBe("1 Dec 2026");
    expect(date("2026-12-01", { locale: "en-US", timeZone: "Pacific/Pago_Pago" })).toBe("Dec 1, 2026");
  });
});

it("shows bytes in the largest unit that fits", () => {
  expect(bytes(1_500_000_000, en)).toBe("1.5 GB");
  expect(bytes(999, en)).toBe("999 byte");
});
