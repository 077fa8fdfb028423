import { expect, test } from "@playwright/test";
import { live } from "./global-setup";
import { checkPage, enrol } from "./support";

const PASSWORD = "fibre to every home 2026";

test("staff onboard a customer, subscribe them, run billing and record a payment", async ({ page, request }) => {
  const { name, url, staffToken, invitation } = live().instances["portal-isp"] ?? { name: "", url: "", staffToken: "", invitation: "" };
  const plan = await request.post(`${url}/api/v1/plans`, {
    headers: { Authorization: `Bearer ${staffToken}` },
    data: { code: "fibre-100", name: "Fibre 100", service_type: "internet", price: 4999 },
  });
  expect(plan.status()).toBe(201);

  await page.goto(invitation);
  await page.getByLabel("New password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set password" }).click();
  await page.getByLabel("E-mail").fill(`owner@${name}.example`);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Set up two-factor sign-in" })).toBeVisible();
  await enrol(page, PASSWORD);

  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
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
  await page.getByRole("button", { name: /Record payment for/ }).click();
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

  const payments = await request.get(`${url}/api/v1/payments`, { headers: { Authorization: `Bearer ${staffToken}` } });
  const body = (await payments.json()) as { items: { amount: number; reference: string }[] };
  expect(body.items.map((p) => [p.amount, p.reference])).toEqual([[Math.round(Number(due) * 100), "BANK-778"]]);
  expect(await page.evaluate(() => Object.keys(localStorage).length)).toBe(0);
});
