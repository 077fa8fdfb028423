import { useState } from "react";
import { date, Field, FormError, money, Select, Submit, unwrap, useSubmit, type Locale } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { useSession } from "./session";

type Subscription = Schemas["SubscriptionView"];
type Plan = Schemas["PlanView"];
type Outcome = Schemas["ChangeOutcome"];

/** Today's date (`2026-12-07`) in the instance's time zone, as a date input wants it. */
export function today(where: Locale, now: Date = new Date()): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: where.timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
}

/** The plans a subscription may move to: active, another plan, the same currency and cycle. */
export function movesTo(current: Plan | undefined, plans: Plan[]): Plan[] {
  if (!current) return [];
  return plans.filter((p) => p.active && p.id !== current.id && p.currency === current.currency && p.billing_cycle === current.billing_cycle);
}

/** What a previewed change does to the customer's money (in `currency`, the plans'), in one sentence. */
export function consequence(outcome: Outcome, currency: string, where: Locale): string {
  if (outcome.invoice) {
    const i = outcome.invoice;
    const period = i.period_start && i.period_end ? ` from ${date(i.period_start, where)} until ${date(i.period_end, where)}` : "";
    return `An invoice of ${money(i.total, i.currency, where)}${period} is issued now.`;
  }
  if (outcome.credit_note) {
    return `A credit of ${money(outcome.credit_note.amount, currency, where)} goes on the invoice already billed for this period.`;
  }
  return "Nothing is charged or credited: the period is not billed yet, or the prices are equal.";
}

/**
 * Changing a subscription's plan: choose the plan and day, see the proration the change makes
 * (a preview the API computes and writes nowhere), then confirm it.
 */
export function ChangePlan({ sub, plans, onDone, onCancel }: { sub: Subscription; plans: Plan[]; onDone: () => void; onCancel: () => void }) {
  const { where } = useSession();
  const current = plans.find((p) => p.id === sub.plan_id);
  const choices = movesTo(current, plans);
  const [preview, setPreview] = useState<{ body: Schemas["PlanChange"]; outcome: Outcome } | null>(null);
  const ask = useSubmit(["plan_id", "date"], async (v) => {
    const body = { plan_id: v.plan_id ?? "", date: v.date || null };
    const outcome = await unwrap(api.POST("/subscriptions/{id}/change-plan/preview", { params: { path: { id: sub.id } }, body }));
    setPreview({ body, outcome });
  });
  const confirm = useSubmit([], async () => {
    if (!preview) return;
    await unwrap(api.POST("/subscriptions/{id}/change-plan", { params: { path: { id: sub.id } }, body: preview.body }));
    onDone();
  });
  if (!current || choices.length === 0) {
    return (
      <div className="card" role="status">
        <p>No other active plan has this subscription's currency and billing cycle.</p>
        <button type="button" onClick={onCancel}>
          Close
        </button>
      </div>
    );
  }
  if (preview) {
    const { outcome } = preview;
    const invoice = outcome.invoice;
    const to = plans.find((p) => p.id === preview.body.plan_id);
    return (
      <section className="card" aria-labelledby="preview-title">
        <h3 id="preview-title">
          From {current.name} to {to?.name}
        </h3>
        <p data-testid="proration">{consequence(outcome, current.currency, where)}</p>
        {invoice && (
          <table>
            <caption>The proration invoice</caption>
            <tbody>
              {(invoice.lines ?? []).map((line, n) => (
                <tr key={n}>
                  <td>{line.description}</td>
                  <td className="num">{money(line.total, invoice.currency, where)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <form onSubmit={confirm.submit}>
          <FormError message={confirm.formError} />
          <div className="actions">
            <Submit busy={confirm.busy}>Confirm plan change</Submit>
            <button type="button" onClick={() => setPreview(null)}>
              Back
            </button>
          </div>
        </form>
      </section>
    );
  }
  return (
    <form onSubmit={ask.submit} className="card" noValidate aria-label={`Change the plan from ${current.name}`}>
      <FormError message={ask.formError} />
      <Select label="New plan" name="plan_id" options={choices.map((p) => [p.id, `${p.name} — ${money(p.price, p.currency, where)}`])} error={ask.errorFor("plan_id")} />
      <Field label="From" name="date" type="date" defaultValue={today(where)} error={ask.errorFor("date")} />
      <div className="actions">
        <Submit busy={ask.busy}>Preview the change</Submit>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
