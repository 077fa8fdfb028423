import { useState } from "react";
import { ApiError, date, Field, FormError, minorDigits, money, PageTitle, PagedTable, Submit, unwrap, useSubmit } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { useSession } from "./session";

type Invoice = Schemas["InvoiceView"];

/** Every invoice, newest first, paged on the server. */
export function Invoices() {
  const [status, setStatus] = useState("");
  return (
    <>
      <PageTitle>Invoices</PageTitle>
      <div className="field">
        <label htmlFor="status">Status</label>
        <select id="status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">Any</option>
          {["draft", "open", "paid", "void"].map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <InvoiceTable status={status} round={0} onPaid={() => undefined} />
    </>
  );
}

/** Invoices of one customer or of a status, with payment recording where the role allows. */
export function InvoiceTable({
  customerId,
  status,
  round,
  onPaid,
}: {
  customerId?: string;
  status?: string;
  round: number;
  onPaid: () => void;
}) {
  const { where, can } = useSession();
  const [paying, setPaying] = useState<Invoice | null>(null);
  const [paid, setPaid] = useState(0);
  return (
    <>
      <PagedTable<Invoice>
        caption="Invoices"
        filterKey={`${customerId ?? ""}/${status ?? ""}/${round}/${paid}`}
        rowKey={(i) => i.id}
        fetch={(cursor, limit) =>
          unwrap(
            api.GET("/invoices", {
              params: { query: { cursor: cursor ?? undefined, limit, customer_id: customerId, status: status || undefined } },
            }),
          )
        }
        columns={[
          { header: "Number", cell: (i) => i.number ?? "draft" },
          { header: "Issued", cell: (i) => (i.issue_date ? date(i.issue_date, where) : "—") },
          { header: "Due", cell: (i) => (i.due_date ? date(i.due_date, where) : "—") },
          { header: "Status", cell: (i) => <span className="badge">{i.status}</span> },
          { header: "Total", numeric: true, cell: (i) => money(i.total, i.currency, where) },
          { header: "Due now", numeric: true, cell: (i) => money(i.amount_due, i.currency, where) },
          {
            header: "Actions",
            cell: (i) =>
              can("payments.write") && i.amount_due > 0 && i.status !== "draft" && i.status !== "void" ? (
                <button type="button" onClick={() => setPaying(i)}>
                  Record payment for {i.number}
                </button>
              ) : null,
          },
        ]}
      />
      {paying && (
        <RecordPayment
          invoice={paying}
          onDone={() => {
            setPaying(null);
            setPaid((p) => p + 1);
            onPaid();
          }}
          onCancel={() => setPaying(null)}
        />
      )}
    </>
  );
}

const METHODS = ["bank_transfer", "cash", "credit_card", "mobile_money", "ach", "check"] as const;

/** Recording a payment against an invoice: the amount in major units, exactly converted. */
function RecordPayment({ invoice, onDone, onCancel }: { invoice: Invoice; onDone: () => void; onCancel: () => void }) {
  const { where } = useSession();
  const { submit, busy, errorFor, formError } = useSubmit(["amount", "method", "reference"], async (v) => {
    const amount = toMinor(v.amount ?? "", invoice.currency);
    if (Number.isNaN(amount)) {
      const detail = `an amount like ${majorText(invoice.amount_due, invoice.currency)}, with at most ${minorDigits(invoice.currency)} decimals`;
      throw new ApiError({ type: "about:blank", title: "Not an amount", status: 0, detail, field: "amount" });
    }
    await unwrap(
      api.POST("/payments", {
        body: {
          invoice_id: invoice.id,
          amount,
          method: (v.method ?? "bank_transfer") as (typeof METHODS)[number],
          reference: v.reference || null,
        },
      }),
    );
    onDone();
  });
  return (
    <form onSubmit={submit} className="card" noValidate aria-label={`Payment for ${invoice.number}`}>
      <h3>Payment for {invoice.number}</h3>
      <p>Due: {money(invoice.amount_due, invoice.currency, where)}</p>
      <FormError message={formError} />
      <Field label={`Amount (${invoice.currency})`} name="amount" inputMode="decimal" defaultValue={majorText(invoice.amount_due, invoice.currency)} error={errorFor("amount")} />
      <div className="field">
        <label htmlFor="method">Method</label>
        <select id="method" name="method">
          {METHODS.map((m) => (
            <option key={m} value={m}>
              {m.replace("_", " ")}
            </option>
          ))}
        </select>
      </div>
      <Field label="Reference" name="reference" error={errorFor("reference")} />
      <div className="actions">
        <Submit busy={busy}>Record payment</Submit>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** `12.50` in a two-digit currency is 1250; text that is no amount is NaN, which the API refuses by name. */
export function toMinor(text: string, currency: string): number {
  const digits = minorDigits(currency);
  const m = /^\s*(\d+)(?:[.,](\d*))?\s*$/.exec(text);
  if (!m) return Number.NaN;
  const fraction = (m[2] ?? "").padEnd(digits, "0");
  if (fraction.length > digits) return Number.NaN;
  return Number(m[1]) * 10 ** digits + Number(fraction || "0");
}

/** Minor units as plain major-unit text (`1250` → `12.50`), for an input's default. */
export function majorText(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  if (digits === 0) return String(minor);
  const s = String(minor).padStart(digits + 1, "0");
  return `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}
