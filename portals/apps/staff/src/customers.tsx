import { useState } from "react";
import {
  date,
  Field,
  FormError,
  Link,
  LoadError,
  money,
  navigate,
  PageTitle,
  PagedTable,
  Submit,
  unwrap,
  useLoad,
  useSubmit,
} from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { BASE } from "./app";
import { InvoiceTable, PaymentTable } from "./invoices";
import { ChangePlan } from "./plan_change";
import { useSession } from "./session";

type Customer = Schemas["CustomerView"];

/** Customers, searched and paged on the server. */
export function Customers() {
  const { can } = useSession();
  const [q, setQ] = useState("");
  return (
    <>
      <PageTitle>Customers</PageTitle>
      <form
        className="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQ(String(new FormData(e.currentTarget).get("q") ?? "").trim());
        }}
      >
        <Field label="Search name, e-mail or number" name="q" type="search" defaultValue={q} />
        <button type="submit">Search</button>
        {can("customers.write") && (
          <Link to="customers/new" className="button">
            New customer
          </Link>
        )}
      </form>
      <PagedTable<Customer>
        caption="Customers"
        filterKey={q}
        rowKey={(c) => c.id}
        fetch={(cursor, limit) => unwrap(api.GET("/customers", { params: { query: { cursor: cursor ?? undefined, limit, q: q || undefined } } }))}
        columns={[
          { header: "Number", cell: (c) => c.customer_number },
          { header: "Name", cell: (c) => <Link to={`customers/${c.id}`}>{c.display_name}</Link> },
          { header: "E-mail", cell: (c) => c.email },
          { header: "Status", cell: (c) => <span className="badge">{c.status}</span> },
        ]}
      />
    </>
  );
}

const CUSTOMER_FIELDS = ["display_name", "email", "phone", "address.street", "address.city", "address.postal_code", "address.country"];

/** Onboarding a customer; a refusal is shown by the field it names. */
export function NewCustomer() {
  const { submit, busy, errorFor, formError } = useSubmit(CUSTOMER_FIELDS, async (v) => {
    const made = await unwrap(
      api.POST("/customers", {
        body: {
          display_name: v.display_name ?? "",
          email: v.email ?? "",
          phone: v.phone || null,
          address: { street: v["address.street"] || null, city: v["address.city"] || null, postal_code: v["address.postal_code"] || null, country: v["address.country"] ?? "" },
        },
      }),
    );
    navigate(`${BASE}customers/${made.id}`);
  });
  return (
    <>
      <PageTitle>New customer</PageTitle>
      <form onSubmit={submit} noValidate className="card">
        <FormError message={formError} />
        <Field label="Name" name="display_name" required error={errorFor("display_name")} />
        <Field label="E-mail" name="email" type="email" required error={errorFor("email")} />
        <Field label="Phone" name="phone" type="tel" error={errorFor("phone")} />
        <Field label="Street" name="address.street" error={errorFor("address.street")} />
        <Field label="City" name="address.city" error={errorFor("address.city")} />
        <Field label="Postal code" name="address.postal_code" error={errorFor("address.postal_code")} />
        <Field label="Country (two letters)" name="address.country" maxLength={2} required error={errorFor("address.country")} />
        <Submit busy={busy}>Create customer</Submit>
      </form>
    </>
  );
}

/** One customer: details, subscriptions (with subscribing), invoices and payments. */
export function CustomerPage({ id }: { id: string }) {
  const { where, can } = useSession();
  const customer = useLoad(() => unwrap(api.GET("/customers/{id}", { params: { path: { id } } })), [id]);
  const [round, setRound] = useState(0);
  const c = customer.data;
  return (
    <>
      <PageTitle>{c ? c.display_name : "Customer"}</PageTitle>
      <LoadError error={customer.error} />
      {c && (
        <section aria-labelledby="facts-title">
          <h2 id="facts-title">Details</h2>
          <dl className="facts">
            <dt>Number</dt>
            <dd>{c.customer_number}</dd>
            <dt>E-mail</dt>
            <dd>{c.email}</dd>
            <dt>Status</dt>
            <dd>
              <span className="badge" data-testid="customer-status">{c.status}</span>
            </dd>
            <dt>Currency</dt>
            <dd>{c.currency}</dd>
            <dt>Customer since</dt>
            <dd>{date(c.created_at.slice(0, 10), where)}</dd>
          </dl>
        </section>
      )}
      {c && can("subscriptions.read") && <Subscriptions customer={c} round={round} onChange={() => setRound((r) => r + 1)} />}
      {c && can("invoices.read") && (
        <section aria-labelledby="invoices-title">
          <h2 id="invoices-title">Invoices</h2>
          <InvoiceTable customerId={c.id} round={round} onPaid={() => { setRound((r) => r + 1); customer.reload(); }} />
        </section>
      )}
      {c && can("payments.read") && (
        <section aria-labelledby="payments-title">
          <h2 id="payments-title">Payments</h2>
          <PaymentTable customerId={c.id} round={round} onRefunded={() => setRound((r) => r + 1)} />
        </section>
      )}
      {c && <p className="hint">Amounts in {c.currency}; {money(0, c.currency, where)} means nothing due.</p>}
    </>
  );
}

function Subscriptions({ customer, round, onChange }: { customer: Customer; round: number; onChange: () => void }) {
  const { where, can } = useSession();
  const [changing, setChanging] = useState<Schemas["SubscriptionView"] | null>(null);
  const subs = useLoad(
    () => unwrap(api.GET("/subscriptions", { params: { query: { customer_id: customer.id, limit: 50 } } })),
    [customer.id, round],
  );
  const plans = useLoad(() => unwrap(api.GET("/plans", { params: { query: { limit: 200 } } })), []);
  const planName = (pid: string) => plans.data?.items.find((p) => p.id === pid)?.name ?? pid;
  const offered = plans.data?.items.filter((p) => p.active && p.currency === customer.currency) ?? [];
  const subscribe = useSubmit(["plan_id"], async (v) => {
    const made = await unwrap(api.POST("/subscriptions", { body: { customer_id: customer.id, plan_id: v.plan_id ?? "" } }));
    await unwrap(api.POST("/subscriptions/{id}/activate", { params: { path: { id: made.id } }, body: {} }));
    onChange();
  });
  return (
    <section aria-labelledby="subs-title">
      <h2 id="subs-title">Subscriptions</h2>
      <LoadError error={subs.error ?? plans.error} />
      <table>
        <caption className="visually-hidden">Subscriptions</caption>
        <thead>
          <tr>
            <th scope="col">Plan</th>
            <th scope="col">Status</th>
            <th scope="col">Next billing</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {subs.data?.items.map((s) => (
            <tr key={s.id}>
              <td>{planName(s.plan_id)}</td>
              <td>
                <span className="badge">{s.status}</span>
                {s.suspended_reason ? ` (${s.suspended_reason.replace("_", "-")})` : ""}
              </td>
              <td>{s.next_billing_date ? date(s.next_billing_date, where) : "—"}</td>
              <td>
                {can("subscriptions.write") && s.status === "active" && (
                  <button type="button" onClick={() => setChanging(s)}>
                    Change plan of {planName(s.plan_id)}
                  </button>
                )}
              </td>
            </tr>
          ))}
          {subs.data?.items.length === 0 && (
            <tr>
              <td colSpan={4}>No subscriptions.</td>
            </tr>
          )}
        </tbody>
      </table>
      {changing && plans.data && (
        <ChangePlan
          key={changing.id}
          sub={changing}
          plans={plans.data.items}
          onCancel={() => setChanging(null)}
          onDone={() => {
            setChanging(null);
            onChange();
          }}
        />
      )}
      {can("subscriptions.write") && offered.length > 0 && (
        <form onSubmit={subscribe.submit} className="search" noValidate>
          <FormError message={subscribe.formError} />
          <div className="field">
            <label htmlFor="plan">Plan</label>
            <select id="plan" name="plan_id" aria-invalid={subscribe.errorFor("plan_id") ? true : undefined}>
              {offered.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} — {money(p.price, p.currency, where)}
                </option>
              ))}
            </select>
          </div>
          <Submit busy={subscribe.busy}>Subscribe</Submit>
        </form>
      )}
    </section>
  );
}
