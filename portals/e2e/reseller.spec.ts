import { expect, test } from "@playwright/test";
import { live } from "./global-setup";
import { checkPage } from "./support";

const PASSWORD = "partners sell fibre 2026";

test("a reseller sells only its plans, sees its tenant limit before it hits it, and is offered no tenant past it", async ({ page, request }) => {
  const platform = live();
  const suffix = Date.now() % 100_000;
  const reseller = `northwind-${suffix}`;
  const email = `sales-${suffix}@northwind.example`;
  const admin = { Authorization: `Bearer ${platform.adminToken}` };
  const made = await request.post(`${platform.api}/api/v1/resellers`, {
    headers: admin,
    data: {
      name: reseller,
      spec: { displayName: "Northwind Networks", contactEmail: "partners@northwind.example", tier: "gold", allowedPlans: ["basic"], maxTenants: 1 },
    },
  });
  expect(made.status()).toBe(201);
  const invited = await request.post(`${platform.api}/api/v1/users`, {
    headers: admin,
    data: { email, displayName: "Northwind Sales", role: "reseller", reseller },
  });
  expect(invited.status()).toBe(201);
  const { invitation } = (await invited.json()) as { invitation: { token: string } };

  await page.goto(`${platform.api}/admin/accept-invitation#token=${invitation.token}`);
  await page.getByLabel("New password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set password" }).click();
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();

  // A reseller's people see their own pages only, and their allowance before they use it up.
  await expect(page.getByRole("heading", { name: "Tenants" })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link")).toHaveText(["Tenants", "Licences", "Alerts", "Commissions", "Users", "Tokens"]);
  await expect(page.getByTestId("tenant-allowance")).toHaveText("0 of 1 tenants used; 1 left.");
  // The platform's own tenant is not theirs to see.
  await expect(page.getByRole("link", { name: platform.instances["portal-isp"]?.name ?? "" })).toHaveCount(0);
  await checkPage(page, "reseller-tenants");

  await page.getByRole("link", { name: "New tenant" }).click();
  await expect(page.getByLabel("Plan").locator("option")).toHaveText(["basic"]);
  const tenant = `northwind-isp-${suffix}`;
  await page.getByLabel("Name (lowercase letters, digits and dashes)").fill(tenant);
  await page.getByLabel("Display name").fill("Northwind ISP");
  await page.getByLabel("Contact e-mail").fill("noc@northwind-isp.example");
  await page.getByLabel("When the tenant is deleted").selectOption("Delete");
  await checkPage(page, "reseller-new-tenant");
  await page.getByRole("button", { name: "Create tenant" }).click();
  await expect(page.getByRole("heading", { name: `Tenant ${tenant}` })).toBeVisible();

  // At the limit: said so, and no way to create another is offered.
  await nav.getByRole("link", { name: "Tenants" }).click();
  await expect(page.getByRole("link", { name: tenant, exact: true })).toBeVisible();
  await expect(page.getByTestId("tenant-allowance")).toContainText("1 of 1 tenants used: the limit is reached");
  await expect(page.getByRole("link", { name: "New tenant" })).toHaveCount(0);
  await checkPage(page, "reseller-limit-reached");
  await page.goto(`${platform.api}/admin/tenants/new`);
  await expect(page.getByTestId("tenant-allowance")).toContainText("the limit is reached");
  await expect(page.getByRole("button", { name: "Create tenant" })).toHaveCount(0);

  // The platform's pages are not there for them, even by address.
  await page.goto(`${platform.api}/admin/resellers`);
  await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();

  await nav.getByRole("link", { name: "Commissions" }).click();
  await expect(page.getByRole("heading", { name: "Commissions" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Months, newest first" })).toBeVisible();
  await checkPage(page, "reseller-commissions");
  expect(await page.evaluate(() => Object.keys(localStorage).length)).toBe(0);
});
