import { BarChart, dateTime, Link, LoadError, money, PageTitle, PagedTable, unwrap, useLoad, type Locale } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { useSession } from "./session";

type Reseller = Schemas["ResellerView"];
type Commission = Schemas["CommissionView"];
type Money = Schemas["Money"];

/** Every plan the platform sells, cheapest first. */
export const PLANS: Schemas["Plan"][] = ["free", "basic", "premium", "enterprise"];

/** What a reseller may still sell: its plans, its cap and how many tenants it has now. */
export interface Allowance {
  plans: Schemas["Plan"][];
  max: number | null;
  used: number;
}

/** Whether the reseller has reached its cap: the next tenant would be refused. */
export function atLimit(a: Allowance): boolean {
  return a.max !== null && a.used >= a.max;
}

/**
 * A reseller's allowance from its spec and its tenants as they are now (not the operator's
 * count in its status, which lags a create by a reconcile).
 */
export function allowance(reseller: Reseller, tenants: number): Allowance {
  const allowed = reseller.spec.allowedPlans ?? [];
  return { plans: allowed.length ? PLANS.filter((p) => allowed.includes(p)) : PLANS, max: reseller.spec.maxTenants ?? null, used: tenants };
}

/** The signed-in reseller's allowance. */
export function useAllowance(reseller: string | null | undefined) {
  return useLoad(async () => {
    if (!reseller) return null;
    const path = { params: { path: { name: reseller } } };
    const [own, tenants] = await Promise.all([unwrap(api.GET("/resellers/{name}", path)), unwrap(api.GET("/resellers/{name}/tenants", path))]);
    return allowance(own, tenants.items.length);
  }, [reseller]);
}

/** "2 of 5 tenants", with the limit named once it is reached. */
export function AllowanceNote({ allowance: a }: { allowance: Allowance }) {
  if (a.max === null) return <p data-testid="tenant-allowance">{a.used} tenants; no limit.</p>;
  return (
    <p data-testid="tenant-allowance" role={atLimit(a) ? "status" : undefined}>
      {a.used} of {a.max} tenants used
      {atLimit(a) ? ": the limit is reached, so no new tenant can be created. Ask the platform to raise it." : `; ${a.max - a.used} left.`}
    </p>
  );
}

function amount(m: Money | null | undefined, where: Locale): string {
  return m ? money(m.amountMinor, m.currency, where) : "—";
}

/** Every reseller with its tenants against its cap, its MRR and the commission it accrued. */
export function Resellers() {
  const { where } = useSession();
  return (
    <>
      <PageTitle>Resellers</PageTitle>
      <PagedTable<Reseller>
        caption="Resellers"
        rowKey={(r) => r.name}
        fetch={(cursor, limit) => unwrap(api.GET("/resellers", { params: { query: { cursor: cursor ?? undefined, limit } } }))}
        columns={[
          {
            header: "Name",
            cell: (r) => (
              <>
                <Link to={`resellers/${r.name}`}>{r.name}</Link> <span className="hint">{r.spec.displayName}</span>
              </>
            ),
          },
          { header: "Tier", cell: (r) => r.spec.tier ?? "—" },
          { header: "Tenants", numeric: true, cell: (r) => `${r.status?.tenants?.count ?? 0}${r.spec.maxTenants != null ? ` of ${r.spec.maxTenants}` : ""}` },
          { header: "Monthly recurring revenue", numeric: true, cell: (r) => amount(r.status?.monthlyRecurringRevenue, where) },
          { header: "Commission this month", numeric: true, cell: (r) => amount(r.status?.commissionAccrued, where) },
        ]}
      />
    </>
  );
}

/** One reseller: its limits and its ledger. */
export function ResellerPage({ name }: { name: string }) {
  const found = useLoad(() => unwrap(api.GET("/resellers/{name}", { params: { path: { name } } })), [name]);
  const reseller = found.data;
  return (
    <>
      <PageTitle>Reseller {name}</PageTitle>
      <LoadError error={found.error} />
      {reseller && (
        <section aria-labelledby="limits-title">
          <h2 id="limits-title">What it may sell</h2>
          <dl className="facts">
            <dt>Plans</dt>
            <dd>{(reseller.spec.allowedPlans ?? []).length ? reseller.spec.allowedPlans?.join(", ") : "every plan"}</dd>
            <dt>Tenants</dt>
            <dd>
              {reseller.status?.tenants?.count ?? 0} of {reseller.spec.maxTenants ?? "no limit"}
            </dd>
            <dt>Commission rate</dt>
            <dd>{reseller.spec.commissionRatePercent != null ? `${reseller.spec.commissionRatePercent} %` : `the ${reseller.spec.tier ?? "standard"} tier's`}</dd>
          </dl>
        </section>
      )}
      <Ledger reseller={name} />
    </>
  );
}

/** The signed-in reseller's own ledger. */
export function Commissions({ reseller }: { reseller: string }) {
  return (
    <>
      <PageTitle>Commissions</PageTitle>
      <Ledger reseller={reseller} />
    </>
  );
}

/** Bars of one money figure per month, oldest first, in the ledger's currency. */
export function monthlyBars(months: Commission[], pick: (c: Commission) => Money, where: Locale) {
  return [...months].reverse().map((c) => ({ label: c.period, value: pick(c).amountMinor, text: money(pick(c).amountMinor, pick(c).currency, where) }));
}

/** A reseller's commission ledger: MRR and commission by month as charts, then the months paged. */
function Ledger({ reseller }: { reseller: string }) {
  const { where } = useSession();
  const recent = useLoad(() => unwrap(api.GET("/resellers/{name}/commissions", { params: { path: { name: reseller }, query: { limit: 12 } } })), [reseller]);
  const months = recent.data?.items ?? [];
  return (
    <section aria-labelledby="ledger-title">
      <h2 id="ledger-title">Commission ledger</h2>
      <LoadError error={recent.error} />
      {months.length > 0 && (
        <div className="cards">
          <BarChart title="Monthly recurring revenue by month" bars={monthlyBars(months, (c) => c.monthlyRecurringRevenue, where)} />
          <BarChart title="Commission by month" bars={monthlyBars(months, (c) => c.commission, where)} />
        </div>
      )}
      <PagedTable<Commission>
        caption="Months, newest first"
        rowKey={(c) => c.period}
        limit={12}
        fetch={(cursor, limit) =>
          unwrap(api.GET("/resellers/{name}/commissions", { params: { path: { name: reseller }, query: { cursor: cursor ?? undefined, limit } } }))
        }
        columns={[
          { header: "Month", cell: (c) => c.period },
          { header: "Tenants", cell: (c) => c.tenants, numeric: true },
          { header: "Monthly recurring revenue", cell: (c) => amount(c.monthlyRecurringRevenue, where), numeric: true },
          { header: "Rate", cell: (c) => `${c.ratePercent} %`, numeric: true },
          { header: "Commission", cell: (c) => amount(c.commission, where), numeric: true },
          { header: "Updated", cell: (c) => dateTime(c.updatedAt, where) },
        ]}
      />
    </section>
  );
}
