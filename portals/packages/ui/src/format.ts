/** How an instance or the platform shows money and time: its currency, locale and time zone. */
export interface Locale {
  /** BCP 47 tag (`en-GB`); the browser's when absent. */
  locale?: string;
  /** IANA time zone (`Africa/Lagos`). */
  timeZone: string;
}

const digitsCache = new Map<string, number>();

/** The number of minor units in a currency's major unit, as a power of ten (JPY 0, USD 2, BHD 3). */
export function minorDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
    digitsCache.set(currency, digits);
  }
  return digits;
}

/**
 * An amount in minor units (what the APIs send) as money: `12345, "USD"` is `$123.45`. The
 * integer is split without floating point, so large balances keep every digit.
 */
export function money(minor: number | bigint, currency: string, where: Locale): string {
  const digits = minorDigits(currency);
  const value = BigInt(minor);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(digits);
  const whole = abs / scale;
  const fraction = (abs % scale).toString().padStart(digits, "0");
  const decimal = `${negative ? "-" : ""}${whole}${digits > 0 ? `.${fraction}` : ""}`;
  const format = new Intl.NumberFormat(where.locale, { style: "currency", currency });
  // Intl takes a decimal string exactly (no float rounding) since ES2023.
  return format.format(decimal as unknown as number);
}

/** An instant (RFC 3339) as date and time in the zone. */
export function dateTime(iso: string, where: Locale): string {
  return new Intl.DateTimeFormat(where.locale, {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: where.timeZone,
  }).format(new Date(iso));
}

/** A calendar date (`2026-12-04`), which has no zone: shown as that day everywhere. */
export function date(isoDate: string, where: Locale): string {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Intl.DateTimeFormat(where.locale, { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1)),
  );
}

/** A count with the locale's grouping (`12,400`). */
export function count(n: number, where: Locale): string {
  return new Intl.NumberFormat(where.locale).format(n);
}

/** Bytes in the largest unit that keeps the number at least 1 (`1.5 GB`), decimal units. */
export function bytes(n: number, where: Locale): string {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte", "petabyte"] as const;
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(where.locale, {
    style: "unit",
    unit: units[unit],
    unitDisplay: "short",
    maximumFractionDigits: 1,
  }).format(value);
}
