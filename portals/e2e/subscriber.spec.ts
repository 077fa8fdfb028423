import { expect, test } from "@playwright/test";
import { live } from "./global-setup";
import { checkPage, enrol, freshTotp } from "./support";

const PASSWORD = "my fibre at home 2026";

// A phone: the portal subscribers use most.
test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

test("a subscriber on a phone turns on two-factor sign-in, signs in with it and pays an invoice with a voucher", async ({ page, request }) => {
  const { url, staffToken } = live().instances["portal-isp"] ?? { url: "", staffToken: "" };
  const staff = { Authorization: `Bearer ${staffToken}` };
  const suffix = Date.now() % 100_000;
  const post = async (path: string, data: unknown) => {
    const response = await request.post(`${url}/api/v1${path}`, { headers: staff, data });
    expect(response.status(), `${path}: ${await response.text()}`).toBeLessThan(300);
    return (await response.json()) as Record<string, unknown>;
  };
  const plan = await post("/plans", { code: `home-${suffix}`, name: "Home Fibre 50", service_type: "internet", price: 2999, download_mbps: 50, upload_mbps: 10 });
  const customer = await post("/customers", { display_name: "Grace Hopper", email: `grace-${suffix}@example.org`, address: { country: "US" } });
  const subscription = await post("/subscriptions", { customer_id: customer.id, plan_id: plan.id });
  await post(`/subscriptions/${String(subscription.id)}/activate`, {});
  const account = await post(`/customers/${String(customer.id)}/portal-account`, {});
  const token = String(account.invitation_url).split("#token=")[1];
  const batch = await post("/vouchers", { batch: `kiosk-${suffix}`, count: 1, amount: 100_000 });
  const voucher = (batch.vouchers as { code: string; number: string }[])[0] ?? { code: "", number: "" };

  await page.goto(`${url}/portal/accept-invitation#token=${token}`);
  await page.getByLabel("New password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to your account" })).toBeVisible();
  await checkPage(page, "subscriber-sign-in");
  // The customer ID works as the sign-in name, in any case.
  await page.getByLabel("E-mail or customer ID").fill(String(account.portal_id).toLowerCase());
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();

  await expect(page.getByRole("heading", { name: "Hello, Grace Hopper" })).toBeVisible();
  await expect(page.getByTestId("balance")).toBeVisible();
  await expect(page.getByRole("region", { name: "Service Home Fibre 50" })).toContainText("50 Mbit/s down, 10 Mbit/s up");
  await checkPage(page, "subscriber-overview");
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

  await page.getByRole("link", { name: "Profile" }).click();
  await expect(page.getByTestId("two-factor-state")).toHaveText(/^Off/);
  await page.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
  const { secret, used } = await enrol(page, PASSWORD);
  await expect(page.getByTestId("two-factor-state")).toHaveText(/^On/);
  await checkPage(page, "subscriber-profile");

  // Signing in again asks for the code; all of it by keyboard alone.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to your account" })).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("E-mail or customer ID")).toBeFocused();
  await page.keyboard.type(`grace-${suffix}@example.org`);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page.getByLabel("Authenticator code")).toBeFocused();
  await page.keyboard.type(await freshTotp(secret, used));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Hello, Grace Hopper" })).toBeVisible();
  // Each page's heading takes focus (screen readers announce it); once what is due has loaded,
  // Tab goes on into the page.
  await expect(page.getByRole("link", { name: /^Invoice .*: / }).first()).toBeVisible();
  await expect(page.getByRole("heading", { name: "Hello, Grace Hopper" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: /^Invoice .*: / }).first()).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: /^Invoice / })).toBeFocused();

  // Paying: a mistyped code is refused by the field, the right one pays what is due.
  const due = (await page.getByTestId("amount-due").textContent()) ?? "";
  await page.getByLabel("Voucher code").fill("AAAA-BBBB-CCCC-DDDD");
  await page.getByRole("button", { name: /^Pay / }).click();
  await expect(page.getByLabel("Voucher code")).toHaveAttribute("aria-invalid", "true");
  await checkPage(page, "subscriber-invoice-bad-voucher");
  await page.getByLabel("Voucher code").fill(voucher.code.toLowerCase());
  await page.getByRole("button", { name: /^Pay / }).click();
  await expect(page.getByTestId("receipt")).toContainText(`of ${due} is recorded`);
  await expect(page.getByTestId("invoice-status")).toHaveText("paid");
  await checkPage(page, "subscriber-invoice-paid");

  await page.getByRole("link", { name: "Payments" }).click();
  await expect(page.getByRole("cell", { name: `voucher (${voucher.number})` })).toBeVisible();
  await checkPage(page, "subscriber-payments");

  // Recorded where staff see it.
  const payments = await request.get(`${url}/api/v1/payments?customer_id=${String(customer.id)}`, { headers: staff });
  const body = (await payments.json()) as { items: { method: string; reference: string }[] };
  expect(body.items.map((p) => [p.method, p.reference])).toEqual([["voucher", voucher.number]]);

  // The staff portal is not theirs.
  await page.goto(`${url}/staff/`);
  await expect(page.getByRole("heading", { name: "This is the staff portal" })).toBeVisible();
  await expect(page.getByRole("navigation")).toHaveCount(0);
  expect(await page.evaluate(() => Object.keys(localStorage).length)).toBe(0);
});
