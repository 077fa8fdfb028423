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
  const [crediting, setCrediting] = useState<Invoice | null>(null);
  const [paid, setPaid] = useState(0);
  const changed = () => {
    setPaying(null);
    setCrediting(null);
    setPaid((p) => p + 1);
    onPaid();
  };
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
            cell: (i) => (
              <div className="actions">
                {can("payments.write") && i.amount_due > 0 && i.status !== "draft" && i.status !== "void" && (
                  <button type="button" onClick={() => setPaying(i)}>
                    Record payment for {i.number}
                  </button>
                )}
                {can("payments.refund") && creditable(i) > 0 && (
                  <button type="button" onClick={() => setCrediting(i)}>
                    Credit {i.number}
                  </button>
                )}
              </div>
            ),
          },
        ]}
      />
      {paying && <RecordPayment invoice={paying} onDone={changed} onCancel={() => setPaying(null)} />}
      {crediting && (
        <AmountWithReason
          key={crediting.id}
          title={`Credit note on ${crediting.number}`}
          currency={crediting.currency}
          max={creditable(crediting)}
          action="Issue credit note"
          send={async (amount, reason) => {
            await unwrap(api.POST("/credit-notes", { body: { invoice_id: crediting.id, amount, reason } }));
            changed();
          }}
          onCancel={() => setCrediting(null)}
        />
      )}
    </>
  );
}

/** A customer's payments, with refunds where the role allows. */
export function PaymentTable({ customerId, round, onRefunded }: { customerId: string; round: number; onRefunded: () => void }) {
  const { where, can } = useSession();
  const [refunding, setRefunding] = useState<Schemas["PaymentView"] | null>(null);
  const [done, setDone] = useState(0);
  return (
    <>
      <PagedTable<Schemas["PaymentView"]>
        caption="Payments"
        filterKey={`${customerId}/${round}/${done}`}
        rowKey={(p) => p.id}
        fetch={(cursor, limit) => unwrap(api.GET("/payments", { params: { query: { cursor: cursor ?? undefined, limit, customer_id: customerId } } }))}
        columns={[
          { header: "Number", cell: (p) => p.number },
          { header: "Received", cell: (p) => date(p.received_on, where) },
          { header: "Method", cell: (p) => p.method.replace("_", " ") + (p.reference ? ` (${p.reference})` : "") },
          { header: "Amount", numeric: true, cell: (p) => money(p.amount, p.currency, where) },
          { header: "Refunded", numeric: true, cell: (p) => money(p.amount_refunded, p.currency, where) },
          {
            header: "Actions",
            cell: (p) =>
              can("payments.refund") && p.amount_refunded < p.amount ? (
                <button type="button" onClick={() => setRefunding(p)}>
                  Refund {p.number}
                </button>
              ) : null,
          },
        ]}
      />
      {refunding && (
        <AmountWithReason
          key={refunding.id}
          title={`Refund of ${refunding.number}`}
          currency={refunding.currency}
          max={refunding.amount - refunding.amount_refunded}
          action="Refund"
          send={async (amount, reason) => {
            await unwrap(api.POST("/payments/{id}/refunds", { params: { path: { id: refunding.id } }, body: { amount, reason } }));
            setRefunding(null);
            setDone((d) => d + 1);
            onRefunded();
          }}
          onCancel={() => setRefunding(null)}
        />
      )}
    </>
  );
}

/**
 * What a credit note may still take off an invoice: its total less earlier credits, while it is
 * issued, overdue or paid (the API's rule).
 */
export function creditable(i: Pick<Invoice, "status" | "total" | "amount_credited">): number {
  if (!["issued", "overdue", "paid"].includes(i.status)) return 0;
  return Math.max(0, i.total - i.amount_credited);
}

const METHODS = ["bank_transfer", "cash", "credit_card", "mobile_money", "ach", "check"] as const;

/** Recording a payment against an invoice: the amount in major units, exactly converted. */
function RecordPayment({ invoice, onDone, onCancel }: { invoice: Invoice; onDone: () => void; onCancel: () => void }) {
  const { where } = useSession();
  const { submit, busy, errorFor, formError } = useSubmit(["amount", "method", "reference"], async (v) => {
    const amount = typedAmount(v.amount, invoice.currency, invoice.amount_due);
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

/**
 * The amount typed into a form's `amount` field, in minor units; when it is no amount in the
 * currency, an error by that field that shows `example` (minor units) as a model.
 */
export function typedAmount(text: string | undefined, currency: string, example: number): number {
  const amount = toMinor(text ?? "", currency);
  if (Number.isNaN(amount)) {
    const detail = `an amount like ${majorText(example, currency)}, with at most ${minorDigits(currency)} decimals`;
    throw new ApiError({ type: "about:blank", title: "Not an amount", status: 0, detail, field: "amount" });
  }
  return amount;
}

/** An amount and a reason, for a refund or a credit: at most `max`, typed in major units. */
export function AmountWithReason({
  title,
  currency,
  max,
  action,
  send,
  onCancel,
}: {
  title: string;
  currency: string;
  max: number;
  action: string;
  send: (amount: number, reason: string) => Promise<unknown>;
  onCancel: () => void;
}) {
  const { where } = useSession();
  const { submit, busy, errorFor, formError } = useSubmit(["amount", "reason"], async (v) => {
    await send(typedAmount(v.amount, currency, max), v.reason ?? "");
  });
  return (
    <form onSubmit={submit} className="card" noValidate aria-label={title}>
      <h3>{title}</h3>
      <p>At most {money(max, currency, where)}.</p>
      <FormError message={formError} />
      <Field label={`Amount (${currency})`} name="amount" inputMode="decimal" defaultValue={majorText(max, currency)} error={errorFor("amount")} />
      <Field label="Reason" name="reason" error={errorFor("reason")} />
      <div className="actions">
        <Submit busy={busy}>{action}</Submit>
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
