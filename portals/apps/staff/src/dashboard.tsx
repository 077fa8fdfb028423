import { BarChart, count, date, dateTime, LoadError, money, PageTitle, unwrap, useLoad } from "@dotmac/ui";
import { api } from "./api";
import { useSession } from "./session";

/** Active subscribers, MRR, what is owed and overdue, the billing runs behind and ahead, and MRR by month. */
export function Dashboard() {
  const { where, can } = useSession();
  const revenue = useLoad(() => unwrap(api.GET("/analytics/revenue", { params: { query: { months: 6 } } })), []);
  const schedule = useLoad(() => (can("runs.read") ? unwrap(api.GET("/schedule")) : Promise.resolve(null)), []);
  const owed = useLoad(() => (can("invoices.read") ? unwrap(api.GET("/receivables")) : Promise.resolve(null)), []);
  const billing = schedule.data?.runs.find((r) => r.kind === "billing");
  return (
    <>
      <PageTitle>Dashboard</PageTitle>
      <LoadError error={revenue.error ?? schedule.error ?? owed.error} />
      {owed.data && (
        <section aria-labelledby="owed-title">
          <h2 id="owed-title">Owed</h2>
          {owed.data.by_currency.length === 0 && <p>Nothing is owed: every invoice is paid.</p>}
          <div className="cards">
            {owed.data.by_currency.map((r) => (
              <div className="card" key={r.currency}>
                <span className="label">Overdue balance, {r.currency}</span>
                <span className="figure" data-testid={`overdue-${r.currency}`}>
                  {money(r.overdue, r.currency, where)}
                </span>
                <span className="label">
                  {count(r.overdue_invoices, where)} invoices of {count(r.overdue_customers, where)} customers; {money(r.open, r.currency, where)} open in all
                </span>
              </div>
            ))}
          </div>
        </section>
      )}
      {revenue.data?.by_currency.map((series) => {
        const now = series.months[series.months.length - 1];
        return (
          <section key={series.currency} aria-label={`Figures in ${series.currency}`}>
            <div className="cards">
              <div className="card">
                <span className="label">Active subscribers</span>
                <span className="figure" data-testid="active-subscribers">{count(now?.active_customers ?? 0, where)}</span>
              </div>
              <div className="card">
                <span className="label">Monthly recurring revenue</span>
                <span className="figure" data-testid="mrr">{money(now?.mrr ?? 0, series.currency, where)}</span>
              </div>
              <div className="card">
                <span className="label">Churn this month</span>
                <span className="figure">{now?.churn_percent ?? "0"} %</span>
              </div>
            </div>
            <BarChart
              title={`Monthly recurring revenue, ${series.currency}`}
              bars={series.months.map((m) => ({ label: m.month, value: m.mrr, text: money(m.mrr, series.currency, where) }))}
            />
          </section>
        );
      })}
      {revenue.data && revenue.data.by_currency.length === 0 && <p>No subscriptions in service yet.</p>}
      {billing && (
        <section aria-labelledby="runs-title">
          <h2 id="runs-title">Billing</h2>
          <dl className="facts">
            <dt>Last billing run</dt>
            <dd>{billing.last_as_of ? date(billing.last_as_of, where) : "none yet"}</dd>
            <dt>Next billing run</dt>
            <dd>{dateTime(billing.next_at, where)}</dd>
          </dl>
        </section>
      )}
    </>
  );
}
