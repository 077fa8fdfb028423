import { expect, it } from "vitest";
import { navFor } from "./app";
import { metered } from "./monitoring";
import { invitationLink } from "./people";
import { allowance, atLimit, monthlyBars } from "./resellers";
import { deletionConsequence } from "./tenants";
import type { Schemas } from "./api";

const reseller = (spec: Partial<Schemas["ResellerView"]["spec"]>): Schemas["ResellerView"] =>
  ({ name: "north", spec: { displayName: "North", contactEmail: "n@example.org", ...spec }, status: null }) as Schemas["ResellerView"];

it("offers a reseller only its allowed plans, in the catalog's order, and every plan when none are named", () => {
  expect(allowance(reseller({ allowedPlans: ["premium", "basic"] }), 0).plans).toEqual(["basic", "premium"]);
  expect(allowance(reseller({}), 0).plans).toEqual(["free", "basic", "premium", "enterprise"]);
});

it("knows a reseller is at its limit once its tenants reach maxTenants, and never without one", () => {
  expect(atLimit(allowance(reseller({ maxTenants: 2 }), 1))).toBe(false);
  expect(atLimit(allowance(reseller({ maxTenants: 2 }), 2))).toBe(true);
  expect(atLimit(allowance(reseller({ maxTenants: 0 }), 0))).toBe(true);
  expect(atLimit(allowance(reseller({}), 500))).toBe(false);
});

it("shows admins the platform's pages and reseller users only their own", () => {
  const admin = navFor({ role: "admin", reseller: null }).map((n) => n.label);
  const seller = navFor({ role: "reseller", reseller: "north" }).map((n) => n.label);
  expect(admin).toEqual(["Tenants", "Licences", "Alerts", "Resellers", "Users", "Tokens"]);
  expect(seller).toEqual(["Tenants", "Licences", "Alerts", "Commissions", "Users", "Tokens"]);
  expect(seller).not.toContain("Resellers");
});

it("names what a deletion does to the data under each policy", () => {
  expect(deletionConsequence("Delete")).toMatch(/policy is Delete: .*dropped for good/);
  expect(deletionConsequence("Retain")).toMatch(/policy is Retain: .*kept/);
  expect(deletionConsequence(undefined)).toBe(deletionConsequence("Retain"));
});

it("charts a ledger oldest month first, in the ledger's currency", () => {
  const month = (period: string, mrr: number, commission: number) =>
    ({
      period,
      tenants: 1,
      ratePercent: "10",
      updatedAt: "2026-12-01T00:00:00Z",
      lines: [],
      monthlyRecurringRevenue: { amountMinor: mrr, currency: "EUR" },
      commission: { amountMinor: commission, currency: "EUR" },
    }) as Schemas["CommissionView"];
  const bars = monthlyBars([month("2026-12", 20000, 2000), month("2026-11", 10000, 1000)], (c) => c.commission, { locale: "en-GB", timeZone: "UTC" });
  expect(bars.map((b) => [b.label, b.value, b.text])).toEqual([
    ["2026-11", 1000, "€10.00"],
    ["2026-12", 2000, "€20.00"],
  ]);
});

it("puts an invitation's token in the link's fragment, which never reaches a server log", () => {
  expect(invitationLink("a+b/c", "https://platform.example")).toBe("https://platform.example/admin/accept-invitation#token=a%2Bb%2Fc");
});

it("reads a licence's use against its limits, with -1 or no limit as unlimited", () => {
  const license = { status: { usage: { api_calls: 1200, storage_gb: 3 }, limits: { api_calls: 10000, transactions: -1 } } } as unknown as Schemas["LicenseView"];
  expect(metered(license)).toEqual([
    { metric: "api_calls", used: 1200, limit: 10000 },
    { metric: "storage_gb", used: 3, limit: null },
    { metric: "transactions", used: 0, limit: null },
  ]);
  expect(metered({ status: null })).toEqual([]);
});
