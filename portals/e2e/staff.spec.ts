import { expect, test } from "@playwright/test";
import { live } from "./global-setup";
import { checkPage, enrol } from "./support";

const PASSWORD = "fibre to every home 2026";

test("staff onboard a customer, subscribe them, run billing, see dunning suspend them, record a payment, waive a fee, change plan and refund", async ({ page, request }) => {
  const { name, url, staffToken, invitation } = live().instances["portal-isp"] ?? { name: "", url: "", staffToken: "", invitation: "" };
  const plan = await request.post(`${url}/api/v1/plans`, {
    headers: { Authorization: `Bearer ${staffToken}` },
    data: { code: "fibre-100", name: "Fibre 100", service_type: "internet", price: 4999 },
  });
  expect(plan.status()).toBe(201);
  const faster = await request.post(`${url}/api/v1/plans`, {
    headers: { Authorization: `Bearer ${staffToken}` },
    data: { code: "fibre-300", name: "Fibre 300", service_type: "internet", price: 7999 },
  });
  expect(faster.status()).toBe(201);

  await page.goto(invitation);
  await page.getByLabel("New password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set password" }).click();
  await page.getByLabel("E-mail").fill(`owner@${name}.example`);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Set up two-factor sign-in" })).toBeVisible();
  await enrol(page, PASSWORD);

  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Owed" })).toBeVisible();
  await checkPage(page, "staff-dashboard");

  await page.getByRole("link", { name: "Customers" }).click();
  await page.getByRole("link", { name: "New customer" }).click();
  await page.getByLabel("Name").fill("Ada Lovelace");
  await page.getByLabel("E-mail").fill("not-an-address");
  await page.getByLabel("Country (two letters)").fill("GB");
  await page.getByRole("button", { name: "Create customer" }).click();
  await expect(page.getByLabel("E-mail")).toHaveAttribute("aria-invalid", "true");
  await checkPage(page, "staff-new-customer-error");
  await page.getByLabel("E-mail").fill("ada@example.org");
  await page.getByRole("button", { name: "Create customer" }).click();

  await expect(page.getByRole("heading", { name: "Ada Lovelace" })).toBeVisible();
  await page.getByRole("button", { name: "Subscribe" }).click();
  await expect(page.getByRole("cell", { name: "active" })).toBeVisible();
  await checkPage(page, "staff-customer");

  await page.getByRole("link", { name: "Billing runs" }).click();
  await page.getByRole("button", { name: "Start a billing run for today" }).click();
  await expect(page.getByTestId("billing-run")).toHaveAttribute("data-status", "succeeded", { timeout: 60_000 });
  await checkPage(page, "staff-billing");

  await page.getByRole("link", { name: "Customers" }).click();
  await page.getByLabel("Search name, e-mail or number").fill("lovelace");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: "Ada Lovelace" }).click();

  // Two months on, the dunning run suspends the unpaid service; staff see it on the customer.
  const later = new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10);
  const dunning = await request.post(`${url}/api/v1/dunning-runs`, { headers: { Authorization: `Bearer ${staffToken}` }, data: { date: later } });
  expect(dunning.status()).toBe(202);
  await page.reload();
  await expect(page.getByRole("cell", { name: "suspended (non-payment)" })).toBeVisible({ timeout: 30_000 });
  await checkPage(page, "staff-customer-suspended");
  // The dashboard counts it overdue.
  await page.getByRole("link", { name: "Dashboard" }).click();
  await expect(page.getByTestId("overdue-USD")).not.toHaveText("$0.00");
  await page.goBack();
  await page.getByRole("button", { name: /Record payment for/ }).first().click();
  // The activation invoice is prorated to the month's end; the form offers what is due.
  const due = await page.getByLabel("Amount (USD)").inputValue();
  expect(due).toMatch(/^\d+\.\d\d$/);
  await page.getByLabel("Amount (USD)").fill("12.345");
  await page.getByRole("button", { name: "Record payment", exact: true }).click();
  await expect(page.getByLabel("Amount (USD)")).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel("Amount (USD)").fill(due);
  await page.getByLabel("Reference").fill("BANK-778");
  await page.getByRole("button", { name: "Record payment", exact: true }).click();
  await expect(page.getByRole("cell", { name: "paid" })).toBeVisible();
  await checkPage(page, "staff-customer-paid");
  // The late fee is still owed, so the service stays off until it is waived by a credit note;
  // then it comes back at once.
  await expect(page.getByRole("cell", { name: "suspended (non-payment)" })).toBeVisible();
  await page.getByRole("button", { name: "Credit INV-000002" }).click();
  await page.getByLabel("Reason").fill("Late fee waived: first time");
  await page.getByRole("button", { name: "Issue credit note" }).click();
  await expect(page.getByRole("cell", { name: "active", exact: true })).toBeVisible();
  await checkPage(page, "staff-customer-reactivated");

  // A plan change shows its proration before it is confirmed.
  await page.getByRole("button", { name: "Change plan of Fibre 100" }).click();
  await page.getByLabel("New plan").selectOption({ label: "Fibre 300 — $79.99" });
  await page.getByRole("button", { name: "Preview the change" }).click();
  await expect(page.getByTestId("proration")).toContainText("An invoice of $");
  await checkPage(page, "staff-plan-change-preview");
  await page.getByRole("button", { name: "Confirm plan change" }).click();
  await expect(page.getByRole("cell", { name: "Fibre 300", exact: true })).toBeVisible();

  // Part of the payment refunded.
  await page.getByRole("button", { name: /^Refund PAY-/ }).click();
  await page.getByLabel("Amount (USD)").fill("1.00");
  await page.getByLabel("Reason").fill("Outage on the 3rd");
  await page.getByRole("button", { name: "Refund", exact: true }).click();
  await expect(page.getByRole("table", { name: "Payments" }).getByRole("cell", { name: "$1.00" })).toBeVisible();
  await checkPage(page, "staff-customer-refunded");

  const payments = await request.get(`${url}/api/v1/payments`, { headers: { Authorization: `Bearer ${staffToken}` } });
  const body = (await payments.json()) as { items: { amount: number; reference: string }[] };
  expect(body.items.map((p) => [p.amount, p.reference])).toEqual([[Math.round(Number(due) * 100), "BANK-778"]]);
  expect(await page.evaluate(() => Object.keys(localStorage).length)).toBe(0);
});

test("a technician sees customers and the network, and nothing about money or people", async ({ page, request }) => {
  const { url, staffToken } = live().instances["portal-isp"] ?? { url: "", staffToken: "" };
  const staff = { Authorization: `Bearer ${staffToken}` };
  const invited = await request.post(`${url}/api/v1/accounts`, {
    headers: staff,
    data: { email: "tech@portal-isp.example", display_name: "Field Tech", role: "technician" },
  });
  expect(invited.status()).toBe(201);
  const { invitation_url } = (await invited.json()) as { invitation_url: string };
  const customer = await request.post(`${url}/api/v1/customers`, {
    headers: staff,
    data: { display_name: "Charles Babbage", email: "charles@example.org", address: { country: "GB" } },
  });
  expect(customer.status()).toBe(201);

  await page.goto(`${url}/staff/accept-invitation#token=${invitation_url.split("#token=")[1] ?? ""}`);
  await page.getByLabel("New password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set password" }).click();
  await page.getByLabel("E-mail").fill("tech@portal-isp.example");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();

  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link")).toHaveText(["Customers", "Network"]);
  await expect(page.getByRole("link", { name: "New customer" })).toHaveCount(0);
  await page.getByLabel("Search name, e-mail or number").fill("babbage");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: "Charles Babbage" }).click();
  await expect(page.getByRole("heading", { name: "Charles Babbage" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Subscriptions" })).toBeVisible();
  // Nothing it may not do is offered: no subscribing, no invoices, no payments.
  await expect(page.getByRole("button", { name: "Subscribe" })).toHaveCount(0);
  await expect(page.getByRole("heading", { name: "Invoices" })).toHaveCount(0);
  await expect(page.getByRole("heading", { name: "Payments" })).toHaveCount(0);
  await checkPage(page, "staff-technician-customer");
  // Nor by address.
  await page.goto(`${url}/staff/billing`);
  await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
  await nav.getByRole("link", { name: "Network" }).click();
  await expect(page.getByRole("heading", { name: "Network" })).toBeVisible();
  await checkPage(page, "staff-technician-network");
});
