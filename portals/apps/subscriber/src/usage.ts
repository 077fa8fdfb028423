import { bytes, type Bar, type Locale } from "@dotmac/ui";
import type { Schemas } from "./api";

/** Octets in a GB, as allowances count them (decimal). */
const GB = 1_000_000_000;

/**
 * A period's use as the chart shows it: one bar a day of the use so far (so the last bar meets
 * the allowance line when it is used up), and the allowance as the limit, if there is one.
 */
export function usageBars(usage: Schemas["UsageView"], where: Locale): { bars: Bar[]; limit?: { value: number; text: string } } {
  let total = 0;
  const bars = [...usage.days]
    .sort((a, b) => a.day.localeCompare(b.day))
    .map((d) => {
      total += d.input_octets + d.output_octets;
      return { label: d.day.slice(5), value: total, text: bytes(total, where) };
    });
  if (usage.allowance_gb == null) return { bars };
  const allowance = usage.allowance_gb * GB;
  return { bars, limit: { value: allowance, text: bytes(allowance, where) } };
}

/** What is left of the allowance, or how far over it the use is, in words. */
export function allowanceLeft(usage: Schemas["UsageView"], where: Locale): string {
  if (usage.allowance_gb == null) return `${bytes(usage.used_octets, where)} used; no data cap`;
  const allowance = usage.allowance_gb * GB;
  const left = allowance - usage.used_octets;
  return left >= 0
    ? `${bytes(usage.used_octets, where)} of ${bytes(allowance, where)} used; ${bytes(left, where)} left`
    : `${bytes(usage.used_octets, where)} used, ${bytes(-left, where)} over the ${bytes(allowance, where)} allowance`;
}
