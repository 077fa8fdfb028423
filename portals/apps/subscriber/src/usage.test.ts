import { expect, it } from "vitest";
import { allowanceLeft, usageBars } from "./usage";
import type { Schemas } from "./api";

const where = { locale: "en-GB", timeZone: "UTC" };
const usage = (days: [string, number][], allowance: number | null, used = 0): Schemas["UsageView"] => ({
  subscription_id: "s",
  period_start: "2026-12-01",
  period_end: "2027-01-01",
  used_octets: used,
  throttled: false,
  billed_gb: 0,
  allowance_gb: allowance,
  days: days.map(([day, octets]) => ({ day, input_octets: octets / 2, output_octets: octets / 2 })),
});

it("charts the use so far day by day, oldest first, against the allowance", () => {
  const { bars, limit } = usageBars(usage([["2026-12-02", 3e9], ["2026-12-01", 1e9]], 10), where);
  expect(bars.map((b) => [b.label, b.value])).toEqual([
    ["12-01", 1e9],
    ["12-02", 4e9],
  ]);
  expect(bars[1]?.text).toBe("4 GB");
  expect(limit).toEqual({ value: 10e9, text: "10 GB" });
  expect(usageBars(usage([], null), where).limit).toBeUndefined();
});

it("says what is left of the allowance, or how far over it", () => {
  expect(allowanceLeft(usage([], 10, 2.5e9), where)).toBe("2.5 GB of 10 GB used; 7.5 GB left");
  expect(allowanceLeft(usage([], 10, 12e9), where)).toBe("12 GB used, 2 GB over the 10 GB allowance");
  expect(allowanceLeft(usage([], null, 5e9), where)).toBe("5 GB used; no data cap");
});
