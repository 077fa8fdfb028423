import { expect, it } from "vitest";
import { navFor } from "./app";
import { runProgress } from "./billing";
import { bpsToPercent, percentToBps } from "./dunning";
import { creditable } from "./invoices";
import { consequence, movesTo, today } from "./plan_change";
import type { Schemas } from "./api";

const where = { locale: "en-US", timeZone: "Africa/Lagos" };

it("offers each role only the pages its permissions open", () => {
  const labels = (permissions: string[]) => navFor((p) => permissions.includes(p)).map((n) => n.label);
  // A technician: customers and the network, nothing about money.
  expect(labels(["customers.read", "subscriptions.read", "catalog.read", "network.read"])).toEqual(["Customers", "Network"]);
  expect(labels(["customers.read", "invoices.read", "payments.read", "runs.read", "dunning.read", "audit.read"])).toEqual([
    "Customers",
    "Invoices",
    "Billing runs",
    "Vouchers",
    "Dunning policy",
    "Audit log",
  ]);
});

it("moves a subscription only to another active plan of the same currency and cycle", () => {
  const plan = (id: string, extra: Partial<Schemas["PlanView"]> = {}) =>
    ({ id, code: id, name: id, service_type: "internet", price: 1000, currency: "USD", billing_cycle: "monthly", active: true, ...extra }) as Schemas["PlanView"];
  const current = plan("basic");
  const all = [current, plan("pro"), plan("eur", { currency: "EUR" }), plan("yearly", { billing_cycle: "annually" }), plan("old", { active: false })];
  expect(movesTo(current, all).map((p) => p.id)).toEqual(["pro"]);
  expect(movesTo(undefined, all)).toEqual([]);
});

it("says what a previewed plan change charges or credits", () => {
  const sub = {} as Schemas["SubscriptionView"];
  const invoice = { total: 1500, currency: "USD", period_start: "2026-09-16", period_end: "2026-10-01" } as Schemas["InvoiceView"];
  expect(consequence({ subscription: sub, invoice, credit_note: null }, "USD", where)).toBe("An invoice of $15.00 from Sep 16, 2026 until Oct 1, 2026 is issued now.");
  const note = { amount: 1000 } as Schemas["CreditNoteView"];
  expect(consequence({ subscription: sub, invoice: null, credit_note: note }, "USD", where)).toMatch(/^A credit of \$10\.00 goes on/);
  expect(consequence({ subscription: sub, invoice: null, credit_note: null }, "USD", where)).toMatch(/^Nothing is charged/);
});

it("takes today's date in the instance's zone, not the browser's", () => {
  // 23:30 UTC on 6 December is already 7 December in Lagos (UTC+1).
  expect(today(where, new Date("2026-12-06T23:30:00Z"))).toBe("2026-12-07");
  expect(today({ timeZone: "UTC" }, new Date("2026-12-06T23:30:00Z"))).toBe("2026-12-06");
});

it("reads a late fee typed in percent as basis points, exactly", () => {
  expect(percentToBps("5")).toBe(500);
  expect(percentToBps("2.25")).toBe(225);
  expect(percentToBps("0,5")).toBe(50);
  expect(percentToBps("2.255")).toBeNaN();
  expect(percentToBps("five")).toBeNaN();
  expect(bpsToPercent(500)).toBe("5");
  expect(bpsToPercent(225)).toBe("2.25");
});

it("credits at most what an issued invoice has not been credited", () => {
  expect(creditable({ status: "paid", total: 3000, amount_credited: 1000 })).toBe(2000);
  expect(creditable({ status: "draft", total: 3000, amount_credited: 0 })).toBe(0);
  expect(creditable({ status: "refunded", total: 3000, amount_credited: 0 })).toBe(0);
});

it("fills a billing run's bar with what it processed out of that and what is still due", () => {
  expect(runProgress({ status: "running", processed: 3000, remaining: 1000 })).toEqual({ value: 3000, max: 4000 });
  expect(runProgress({ status: "queued", processed: 0, remaining: null })).toEqual({ value: 0, max: null });
  expect(runProgress({ status: "succeeded", processed: 4000, remaining: null })).toEqual({ value: 1, max: 1 });
});
