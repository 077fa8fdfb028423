import { useState } from "react";
import { date, Field, FormError, Link, LoadError, money, PageTitle, PagedTable, Submit, unwrap, useLoad, useSubmit } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { useSession } from "./session";

type Invoice = Schemas["InvoiceView"];
type Payment = Schemas["PaymentView"];

function StatusBadge({ status }: { status: string }) {
  const tone = status === "paid" ? "ok" : status === "overdue" ? "bad" : "";
  return <span className={`badge ${tone}`}>{status}</span>;
}

/** The subscriber's invoices, paged on the server. */
export function Invoices() {
  const { where } = useSession();
  return (
    <>
      <PageTitle>Invoices</PageTitle>
      <PagedTable<Invoice>
        caption="Your invoices"
        rowKey={(i) => i.id}
        fetch={(cursor, limit) => unwrap(api.GET("/me/invoices", { params: { query: { cursor: cursor ?? undefined, limit } } }))}
        columns={[
          { header: "Invoice", cell: (i) => <Link to={`invoices/${i.id}`}>{i.number ?? "—"}</Link> },
          { header: "Issued", cell: (i) => (i.issue_date ? date(i.issue_date, where) : "—") },
          { header: "Due", cell: (i) => (i.due_date ? date(i.due_date, where) : "—") },
          { header: "Total", cell: (i) => money(i.total, i.currency, where), numeric: true },
          { header: "To pay", cell: (i) => money(i.amount_due, i.currency, where), numeric: true },
          { header: "Status", cell: (i) => <StatusBadge status={i.status} /> },
        ]}
      />
    </>
  );
}

/** One invoice with its lines, and paying it with a voucher while something is due. */
export function InvoicePage({ id }: { id: string }) {
  const { where } = useSession();
  const [receipt, setReceipt] = useState<Schemas["PaymentReceipt"] | null>(null);
  const invoice = useLoad(() => unwrap(api.GET("/me/invoices/{id}", { params: { path: { id } } })), [id, receipt]);
  const i = invoice.data;
  return (
    <>
      <PageTitle>Invoice {i?.number ?? ""}</PageTitle>
      <LoadError error={invoice.error} />
      {i && (
        <>
          <section aria-labelledby="invoice-title">
            <h2 id="invoice-title">Details</h2>
            <dl className="facts">
              <dt>Status</dt>
              <dd data-testid="invoice-status">
                <StatusBadge status={i.status} />
              </dd>
              {i.issue_date && (
                <>
                  <dt>Issued</dt>
                  <dd>{date(i.issue_date, where)}</dd>
                </>
              )}
              {i.due_date && (
                <>
                  <dt>Due</dt>
                  <dd>{date(i.due_date, where)}</dd>
                </>
              )}
              {i.period_start && i.period_end && (
                <>
                  <dt>Period</dt>
                  <dd>
                    {date(i.period_start, where)} until {date(i.period_end, where)}
                  </dd>
                </>
              )}
            </dl>
            <div className="table">
              <table>
                <caption>Lines</caption>
                <thead>
                  <tr>
                    <th scope="col">Description</th>
                    <th scope="col" className="num">Quantity</th>
                    <th scope="col" className="num">Amount</th>
                  </tr>
                </thead>
                <tbody>
                  {(i.lines ?? []).map((line, n) => (
                    <tr key={n}>
                      <td>{line.description}</td>
                      <td className="num">{line.quantity}</td>
                      <td className="num">{money(line.total, i.currency, where)}</td>
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr>
                    <th scope="row" colSpan={2}>Tax</th>
                    <td className="num">{money(i.tax, i.currency, where)}</td>
                  </tr>
                  <tr>
                    <th scope="row" colSpan={2}>Total</th>
                    <td className="num">{money(i.total, i.currency, where)}</td>
                  </tr>
                  <tr>
                    <th scope="row" colSpan={2}>Paid</th>
                    <td className="num">{money(i.amount_paid + i.amount_credited, i.currency, where)}</td>
                  </tr>
                  <tr>
                    <th scope="row" colSpan={2}>To pay</th>
                    <td className="num" data-testid="amount-due">
                      {money(i.amount_due, i.currency, where)}
                    </td>
                  </tr>
                </tfoot>
              </table>
            </div>
          </section>
          {receipt && (
            <p role="status" className="card" data-testid="receipt">
              Payment {receipt.payment.number} of {money(receipt.payment.amount, receipt.payment.currency, where)} is recorded. Anything left on the voucher stays on it for your next bill.
            </p>
          )}
          {(i.status === "issued" || i.status === "overdue") && <PayWithVoucher invoice={i} paid={setReceipt} />}
        </>
      )}
    </>
  );
}

/** The voucher form; `paid` gets the receipt. */
function PayWithVoucher({ invoice, paid }: { invoice: Invoice; paid: (receipt: Schemas["PaymentReceipt"]) => void }) {
  const { where } = useSession();
  const { submit, busy, errorFor, formError } = useSubmit(["code"], async (v) => {
    paid(await unwrap(api.POST("/me/invoices/{id}/voucher-payments", { params: { path: { id: invoice.id } }, body: { code: v.code ?? "" } })));
  });
  return (
    <section aria-labelledby="pay-title">
      <h2 id="pay-title">Pay with a voucher</h2>
      <form onSubmit={submit} noValidate>
        <FormError message={formError} />
        <Field label="Voucher code" name="code" autoComplete="off" spellCheck={false} hint="The 16 letters and digits on your voucher; dashes are optional" required error={errorFor("code")} />
        <Submit busy={busy}>Pay {money(invoice.amount_due, invoice.currency, where)}</Submit>
      </form>
    </section>
  );
}

/** The subscriber's payments, paged on the server. */
export function Payments() {
  const { where } = useSession();
  return (
    <>
      <PageTitle>Payments</PageTitle>
      <PagedTable<Payment>
        caption="Your payments"
        rowKey={(p) => p.id}
        fetch={(cursor, limit) => unwrap(api.GET("/me/payments", { params: { query: { cursor: cursor ?? undefined, limit } } }))}
        columns={[
          { header: "Payment", cell: (p) => p.number },
          { header: "Received", cell: (p) => date(p.received_on, where) },
          { header: "Method", cell: (p) => p.method.replace("_", " ") + (p.reference ? ` (${p.reference})` : "") },
          {
            header: "Invoice",
            cell: (p) => (
              <Link to={`invoices/${p.invoice_id}`} aria-label={`The invoice ${p.number} paid`}>
                invoice
              </Link>
            ),
          },
          { header: "Amount", cell: (p) => money(p.amount, p.currency, where), numeric: true },
          { header: "Refunded", cell: (p) => (p.amount_refunded ? money(p.amount_refunded, p.currency, where) : "—"), numeric: true },
        ]}
      />
    </>
  );
}
