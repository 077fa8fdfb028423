import { useState } from "react";
import { Confirm, date, Field, FormError, minorDigits, money, PageTitle, PagedTable, Select, Submit, unwrap, useSubmit } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { typedAmount } from "./invoices";
import { useSession } from "./session";

type Voucher = Schemas["VoucherView"];
type Batch = Schemas["VoucherBatch"];

/** Prepaid vouchers: batches made (codes shown once, to print), listed by batch and status, voided. */
export function Vouchers() {
  const { me, where, can } = useSession();
  const currency = me.instance.currency;
  const [made, setMade] = useState<Batch | null>(null);
  const [filter, setFilter] = useState<{ batch: string; status: string }>({ batch: "", status: "" });
  const [voiding, setVoiding] = useState<Voucher | null>(null);
  const [round, setRound] = useState(0);
  const [failure, setFailure] = useState<string | null>(null);
  const make = useSubmit(["batch", "count", "amount", "expires_on"], async (v) => {
    const amount = typedAmount(v.amount, currency, 1000 * 10 ** minorDigits(currency));
    const batch = await unwrap(
      api.POST("/vouchers", { body: { batch: v.batch ?? "", count: Number(v.count), amount, expires_on: v.expires_on || null } }),
    );
    setMade(batch);
    setFilter({ batch: batch.batch, status: "" });
  });
  const voidOne = async (voucher: Voucher) => {
    setVoiding(null);
    setFailure(null);
    try {
      await unwrap(api.POST("/vouchers/{id}/void", { params: { path: { id: voucher.id } } }));
      setRound((r) => r + 1);
    } catch (error) {
      setFailure((error as Error).message);
    }
  };
  return (
    <>
      <PageTitle>Vouchers</PageTitle>
      {can("payments.write") && (
        <section aria-labelledby="make-title">
          <h2 id="make-title">Make a batch</h2>
          <form onSubmit={make.submit} noValidate>
            <FormError message={make.formError} />
            <Field label="Batch name" name="batch" hint="Letters, digits, '.', '-' and '_' (kiosk-lekki-2026-12); each name is used once" error={make.errorFor("batch")} />
            <Field label="How many" name="count" inputMode="numeric" defaultValue="10" hint="1 to 1,000" error={make.errorFor("count")} />
            <Field label={`Value of each (${currency})`} name="amount" inputMode="decimal" error={make.errorFor("amount")} />
            <Field label="Last day they can be used (optional)" name="expires_on" type="date" error={make.errorFor("expires_on")} />
            <Submit busy={make.busy}>Make vouchers</Submit>
          </form>
          {made && (
            <div className="card" role="status">
              <p>
                {made.vouchers.length} vouchers of {money(made.amount, made.currency, where)} in batch {made.batch}
                {made.expires_on ? `, usable until ${date(made.expires_on, where)}` : ""}. Their codes are shown only now: print or hand them out, then close this.
              </p>
              <table>
                <caption>Codes of batch {made.batch}</caption>
                <thead>
                  <tr>
                    <th scope="col">Number</th>
                    <th scope="col">Code</th>
                  </tr>
                </thead>
                <tbody>
                  {made.vouchers.map((v) => (
                    <tr key={v.id}>
                      <td>{v.number}</td>
                      <td>
                        <code>{v.code}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div className="actions">
                <button type="button" onClick={() => window.print()}>
                  Print
                </button>
                <button type="button" onClick={() => setMade(null)}>
                  Close (the codes cannot be shown again)
                </button>
              </div>
            </div>
          )}
        </section>
      )}
      <form
        className="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          setFilter({ batch: String(data.get("batch") ?? "").trim(), status: String(data.get("status") ?? "") });
        }}
      >
        <Field label="Batch" name="batch" defaultValue={filter.batch} key={filter.batch} />
        <Select
          label="Status"
          name="status"
          options={[
            ["", "Any"],
            ["active", "active"],
            ["used", "used"],
            ["void", "void"],
          ]}
        />
        <button type="submit">Show</button>
      </form>
      {failure && (
        <p className="form-error" role="alert">
          {failure}
        </p>
      )}
      <PagedTable<Voucher>
        caption="Vouchers"
        filterKey={`${filter.batch}/${filter.status}/${round}`}
        rowKey={(v) => v.id}
        fetch={(cursor, limit) =>
          unwrap(
            api.GET("/vouchers", {
              params: { query: { cursor: cursor ?? undefined, limit, batch: filter.batch || undefined, status: (filter.status || undefined) as Schemas["VoucherStatus"] | undefined } },
            }),
          )
        }
        columns={[
          { header: "Number", cell: (v) => v.number },
          { header: "Batch", cell: (v) => v.batch },
          { header: "Status", cell: (v) => <span className="badge">{v.status}</span> },
          { header: "Value", numeric: true, cell: (v) => money(v.amount, v.currency, where) },
          { header: "Left", numeric: true, cell: (v) => money(v.amount_left, v.currency, where) },
          { header: "Last day", cell: (v) => (v.expires_on ? date(v.expires_on, where) : "—") },
          {
            header: "Actions",
            cell: (v) =>
              can("payments.refund") && v.status === "active" ? (
                <button type="button" onClick={() => setVoiding(v)}>
                  Void {v.number}
                </button>
              ) : null,
          },
        ]}
      />
      <Confirm
        open={voiding !== null}
        title={`Void voucher ${voiding?.number ?? ""}?`}
        action="Void"
        onCancel={() => setVoiding(null)}
        onConfirm={() => voiding && void voidOne(voiding)}
      >
        <p>Its code stops paying anything, with {voiding ? money(voiding.amount_left, voiding.currency, where) : ""} left on it. This cannot be undone.</p>
      </Confirm>
    </>
  );
}
