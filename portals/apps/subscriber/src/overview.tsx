import { ApiError, BarChart, date, Link, LoadError, money, PageTitle, unwrap, useLoad } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { useSession } from "./session";
import { allowanceLeft, usageBars } from "./usage";

/** The network-usage view of each service, or none when the provider does not sell network access. */
async function loadUsage(): Promise<Schemas["UsageView"][]> {
  try {
    return await unwrap(api.GET("/me/network-usage"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return [];
    throw error;
  }
}

/** Open invoices, oldest first (both issued and overdue). */
async function loadOpen(): Promise<Schemas["InvoiceView"][]> {
  const [issued, overdue] = await Promise.all([
    unwrap(api.GET("/me/invoices", { params: { query: { status: "issued", limit: 200 } } })),
    unwrap(api.GET("/me/invoices", { params: { query: { status: "overdue", limit: 200 } } })),
  ]);
  return [...overdue.items, ...issued.items];
}

const PER: Record<Schemas["BillingCycle"], string> = { monthly: "a month", quarterly: "a quarter", annually: "a year" };

function speeds(plan: Schemas["PlanView"]): string | null {
  if (!plan.download_mbps) return null;
  return `${plan.download_mbps} Mbit/s down${plan.upload_mbps ? `, ${plan.upload_mbps} Mbit/s up` : ""}`;
}

/** The subscriber's services with their use this period, and what they owe. */
export function Overview() {
  const { me, where } = useSession();
  const services = useLoad(() => unwrap(api.GET("/me/services")), []);
  const usage = useLoad(loadUsage, []);
  const open = useLoad(loadOpen, []);
  const owed = new Map<string, number>();
  for (const invoice of open.data ?? []) owed.set(invoice.currency, (owed.get(invoice.currency) ?? 0) + invoice.amount_due);
  return (
    <>
      <PageTitle>Hello, {me.display_name}</PageTitle>
      <LoadError error={services.error ?? usage.error ?? open.error} />
      <section aria-labelledby="balance-title">
        <h2 id="balance-title">To pay</h2>
        {open.data && open.data.length === 0 && <p>Nothing is due. Thank you!</p>}
        {[...owed].map(([currency, amount]) => (
          <p key={currency} className="figure" data-testid="balance">
            {money(amount, currency, where)}
          </p>
        ))}
        <ul>
          {open.data?.map((invoice) => (
            <li key={invoice.id}>
              <Link to={`invoices/${invoice.id}`}>
                Invoice {invoice.number}: {money(invoice.amount_due, invoice.currency, where)}
                {invoice.due_date ? `, due ${date(invoice.due_date, where)}` : ""}
                {invoice.status === "overdue" ? " (overdue)" : ""}
              </Link>
            </li>
          ))}
        </ul>
      </section>
      {services.data?.map(({ subscription, plan }) => {
        const use = usage.data?.find((u) => u.subscription_id === subscription.id);
        const chart = use ? usageBars(use, where) : null;
        return (
          <section key={subscription.id} aria-label={`Service ${plan.name}`}>
            <h2>{plan.name}</h2>
            <dl className="facts">
              <dt>Status</dt>
              <dd>
                <span className={`badge ${subscription.status === "active" ? "ok" : subscription.status === "suspended" ? "bad" : ""}`}>{subscription.status}</span>
                {subscription.suspended_reason === "non_payment" ? " — pay what is due to bring it back" : ""}
              </dd>
              {speeds(plan) && (
                <>
                  <dt>Speed</dt>
                  <dd>{speeds(plan)}</dd>
                </>
              )}
              <dt>Price</dt>
              <dd>
                {money(subscription.price_override ?? plan.price, plan.currency, where)} {PER[plan.billing_cycle]}
              </dd>
              {subscription.next_billing_date && (
                <>
                  <dt>Next bill</dt>
                  <dd>{date(subscription.next_billing_date, where)}</dd>
                </>
              )}
            </dl>
            {use && chart && (
              <>
                <p data-testid="allowance">{allowanceLeft(use, where)}{use.throttled ? " — slowed to the fair-use speed until the period ends" : ""}</p>
                {chart.bars.length > 0 && <BarChart title={`Data used since ${date(use.period_start, where)}`} bars={chart.bars} {...(chart.limit ? { limit: chart.limit } : {})} />}
              </>
            )}
          </section>
        );
      })}
      {services.data?.length === 0 && <p>You have no services yet.</p>}
    </>
  );
}
