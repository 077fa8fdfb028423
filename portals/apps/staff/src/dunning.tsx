import { useState } from "react";
import { ApiError, Field, FormError, LoadError, PageTitle, Submit, unwrap, useLoad, useSubmit } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { useSession } from "./session";

type Policy = Schemas["DunningPolicy"];

/** `5` or `2.25` percent as basis points (500, 225); anything else (or a third decimal) is NaN. */
export function percentToBps(text: string): number {
  const m = /^\s*(\d{1,3})(?:[.,](\d{0,2}))?\s*$/.exec(text);
  if (!m) return Number.NaN;
  return Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
}

/** Basis points as percent text (`225` → `2.25`). */
export function bpsToPercent(bps: number): string {
  return (bps / 100).toFixed(bps % 100 === 0 ? 0 : 2);
}

const FIELDS = ["enabled", "late_fee_bps", "late_fee_min", "late_fee_max", "grace_days", "suspend_after_days"];

/** Whole numbers typed into the form; text that is none is NaN, refused by the API by name. */
function whole(text: string | undefined): number {
  return /^\s*\d+\s*$/.test(text ?? "") ? Number(text) : Number.NaN;
}

/** The dunning policy: read by those who may, changed by those who may write it. */
export function DunningPolicy() {
  const { can } = useSession();
  const policy = useLoad(() => unwrap(api.GET("/dunning/policy")), []);
  const [saved, setSaved] = useState(false);
  const editable = can("dunning.write");
  const { submit, busy, errorFor, formError } = useSubmit(FIELDS, async (v) => {
    setSaved(false);
    const body: Policy = {
      enabled: v.enabled === "on",
      late_fee_bps: percentToBps(v.late_fee_bps ?? ""),
      late_fee_min: whole(v.late_fee_min),
      late_fee_max: whole(v.late_fee_max),
      grace_days: whole(v.grace_days),
      suspend_after_days: whole(v.suspend_after_days),
    };
    const bad = Object.entries(body).find(([, value]) => typeof value === "number" && Number.isNaN(value));
    if (bad) throw new ApiError({ type: "about:blank", title: "Not a number", status: 0, detail: "must be a whole number (a percentage may have two decimals)", field: bad[0] });
    await unwrap(api.PUT("/dunning/policy", { body }));
    setSaved(true);
    policy.reload();
  });
  const p = policy.data;
  return (
    <>
      <PageTitle>Dunning policy</PageTitle>
      <LoadError error={policy.error} />
      {p && (
        <form onSubmit={submit} className="card" noValidate>
          <p>An invoice unpaid past its due date gets a late fee after the grace days, and its customer's internet service is suspended some days later; a payment that settles what is overdue brings it back at once.</p>
          <FormError message={formError} />
          <div className="field">
            <label>
              <input type="checkbox" name="enabled" defaultChecked={p.enabled} disabled={!editable} /> Dunning runs act (late fees and suspensions)
            </label>
          </div>
          <Field label="Grace days after the due date" name="grace_days" inputMode="numeric" defaultValue={p.grace_days} readOnly={!editable} error={errorFor("grace_days")} />
          <Field label="Late fee (% of the amount due)" name="late_fee_bps" inputMode="decimal" defaultValue={bpsToPercent(p.late_fee_bps)} readOnly={!editable} error={errorFor("late_fee_bps")} />
          <Field label="Smallest late fee (whole units of the currency)" name="late_fee_min" inputMode="numeric" defaultValue={p.late_fee_min} readOnly={!editable} error={errorFor("late_fee_min")} />
          <Field label="Largest late fee (whole units of the currency)" name="late_fee_max" inputMode="numeric" defaultValue={p.late_fee_max} readOnly={!editable} error={errorFor("late_fee_max")} />
          <Field label="Days after the grace period before suspension" name="suspend_after_days" inputMode="numeric" defaultValue={p.suspend_after_days} readOnly={!editable} error={errorFor("suspend_after_days")} />
          {saved && <p role="status">The policy is saved; the next dunning run follows it.</p>}
          {editable && <Submit busy={busy}>Save policy</Submit>}
        </form>
      )}
    </>
  );
}
