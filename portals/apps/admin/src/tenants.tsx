import { useEffect, useState } from "react";
import { ApiError, Confirm, dateTime, Field, Select, FormError, Link, LoadError, navigate, PageTitle, PagedTable, Progress, Submit, unwrap, useLoad, useSubmit } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { BASE } from "./app";
import { AllowanceNote, atLimit, PLANS, useAllowance } from "./resellers";
import { useSession } from "./session";

type Tenant = Schemas["TenantView"];
type Condition = Schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Condition"];

const PARTS = ["NamespaceReady", "DatabaseReady", "CacheReady", "SecretsReady", "WorkloadReady"];

function phaseBadge(t: Tenant) {
  const phase = t.status?.phase ?? "Pending";
  const tone = phase === "Ready" ? "ok" : phase === "Degraded" ? "bad" : "";
  return <span className={`badge ${tone}`}>{phase}</span>;
}

/** Every tenant with its phase, health, plan, size and reseller, paged on the server. */
export function Tenants() {
  const { where, me } = useSession();
  const allowance = useAllowance(me.reseller);
  const full = allowance.data ? atLimit(allowance.data) : false;
  return (
    <>
      <PageTitle>Tenants</PageTitle>
      <LoadError error={allowance.error} />
      {allowance.data && <AllowanceNote allowance={allowance.data} />}
      {!full && !allowance.loading && (
        <p>
          <Link to="tenants/new">New tenant</Link>
        </p>
      )}
      <PagedTable<Tenant>
        caption="Tenants"
        rowKey={(t) => t.name}
        fetch={(cursor, limit) => unwrap(api.GET("/tenant-orchestration/deployments", { params: { query: { cursor: cursor ?? undefined, limit } } }))}
        columns={[
          { header: "Name", cell: (t) => <Link to={`tenants/${t.name}`}>{t.name}</Link> },
          { header: "Display name", cell: (t) => t.spec.displayName },
          { header: "Phase", cell: phaseBadge },
          {
            header: "Health",
            cell: (t) => (t.status?.health ? `${t.status.health.status} (${dateTime(t.status.health.checkedAt, where)})` : "no report yet"),
          },
          { header: "Plan", cell: (t) => t.spec.plan ?? "free" },
          { header: "Size", cell: (t) => t.spec.size ?? "small" },
          { header: "Reseller", cell: (t) => t.spec.resellerRef ?? "—" },
        ]}
      />
    </>
  );
}

const TENANT_FIELDS = ["name", "spec.displayName", "spec.contactEmail", "spec.plan", "spec.size", "spec.deletionPolicy", "spec.resellerRef"];

/**
 * Creating a tenant; a refusal names its field, then the new tenant's progress shows. A
 * reseller is offered only its allowed plans, sees its limit before it reaches it, and gets no
 * form once it has.
 */
export function NewTenant() {
  const { me } = useSession();
  const allowance = useAllowance(me.reseller);
  const plans = allowance.data?.plans ?? PLANS;
  const { submit, busy, errorFor, formError } = useSubmit(TENANT_FIELDS, async (v) => {
    await unwrap(
      api.POST("/tenant-orchestration/deployments", {
        body: {
          name: v.name ?? "",
          spec: {
            displayName: v["spec.displayName"] ?? "",
            contactEmail: v["spec.contactEmail"] ?? "",
            plan: (v["spec.plan"] || "free") as Schemas["Plan"],
            size: (v["spec.size"] || "small") as Schemas["Size"],
            deletionPolicy: (v["spec.deletionPolicy"] || "Retain") as Schemas["DeletionPolicy"],
          },
        } as Schemas["NewDeployment"],
      }),
    );
    navigate(`${BASE}tenants/${v.name}`);
  });
  if (allowance.loading) return <p aria-busy="true">Loading…</p>;
  const full = allowance.data ? atLimit(allowance.data) : false;
  return (
    <>
      <PageTitle>New tenant</PageTitle>
      <LoadError error={allowance.error} />
      {allowance.data && <AllowanceNote allowance={allowance.data} />}
      {!full && (
        <form onSubmit={submit} noValidate className="card">
          <FormError message={formError ?? errorFor("spec.resellerRef")} />
          <Field label="Name (lowercase letters, digits and dashes)" name="name" required error={errorFor("name")} />
          <Field label="Display name" name="spec.displayName" required error={errorFor("spec.displayName")} />
          <Field label="Contact e-mail" name="spec.contactEmail" type="email" required error={errorFor("spec.contactEmail")} />
          <Select label="Plan" name="spec.plan" options={plans.map((p) => [p, p])} defaultValue={plans.includes("basic") ? "basic" : plans[0]} error={errorFor("spec.plan")} />
          <Select label="Size" name="spec.size" options={SIZES.map((s) => [s, s])} defaultValue="small" error={errorFor("spec.size")} />
          <Select
            label="When the tenant is deleted"
            name="spec.deletionPolicy"
            defaultValue="Retain"
            options={[
              ["Retain", "Keep its database and secrets (Retain)"],
              ["Delete", "Delete its database and secrets (Delete)"],
            ]}
            error={errorFor("spec.deletionPolicy")}
          />
          <Submit busy={busy}>Create tenant</Submit>
        </form>
      )}
    </>
  );
}

const SIZES: Schemas["Size"][] = ["micro", "small", "medium", "large", "xlarge"];

/**
 * How far a tenant's provisioning is: its parts ready out of all, why it is not Ready yet (the
 * Ready condition's reason), and what is failing (a true Degraded condition).
 */
export function provisioned(conditions: Condition[]): { ready: number; total: number; waiting: Condition | null; failing: Condition | null } {
  const parts = conditions.filter((c) => PARTS.includes(c.type));
  const ready = parts.filter((c) => c.status === "True").length;
  const waiting = conditions.find((c) => c.type === "Ready" && c.status !== "True") ?? null;
  const failing = conditions.find((c) => c.type === "Degraded" && c.status === "True") ?? null;
  return { ready, total: PARTS.length, waiting, failing };
}

/** What deleting a tenant does to its data, by its deletion policy, in the words the dialog uses. */
export function deletionConsequence(policy: Schemas["DeletionPolicy"] | undefined): string {
  return (policy ?? "Retain") === "Delete"
    ? "Its deletion policy is Delete: its database, database role, Redis user and OpenBao namespace are dropped for good."
    : "Its deletion policy is Retain: its database and OpenBao namespace are kept and its database login disabled; a tenant created again with the same name takes them back.";
}

/** One tenant: its provisioning followed live until it is Ready, or why it is not, and what may be done to it. */
export function TenantPage({ name }: { name: string }) {
  const { where } = useSession();
  const [round, setRound] = useState(0);
  // Set once a deletion is accepted: the phase says Deleting only after the operator's next pass.
  const [deleting, setDeleting] = useState(false);
  const tenant = useLoad(() => unwrap(api.GET("/tenant-orchestration/deployments/{tenant_id}", { params: { path: { tenant_id: name } } })), [name, round]);
  const t = tenant.data;
  const gone = tenant.error instanceof ApiError && tenant.error.status === 404;
  const phase = deleting ? "Deleting" : t?.status?.phase;
  const settled = phase === "Ready" || phase === "Suspended" || phase === "Degraded";
  const suspending = t !== undefined && (t.spec.suspended ?? false) !== (phase === "Suspended");
  useEffect(() => {
    if ((settled && !suspending) || gone) return;
    const timer = window.setTimeout(() => setRound((r) => r + 1), 1500);
    return () => window.clearTimeout(timer);
  }, [settled, suspending, gone, round]);
  const conditions = t?.status?.conditions ?? [];
  const progress = provisioned(conditions);
  if (gone) {
    return (
      <>
        <PageTitle>Tenant {name}</PageTitle>
        <p role="status" data-testid="tenant-gone">
          Tenant {name} does not exist (any more).
        </p>
        <p>
          <Link to="tenants">Back to the tenants</Link>
        </p>
      </>
    );
  }
  return (
    <>
      <PageTitle>Tenant {name}</PageTitle>
      <LoadError error={tenant.error} />
      {t && (
        <section aria-labelledby="state-title">
          <h2 id="state-title">State</h2>
          <p>
            Phase: <span data-testid="tenant-phase">{phase ?? "Pending"}</span>
          </p>
          {!settled && phase !== "Deleting" && (
            <Progress label={`Provisioning: ${progress.ready} of ${progress.total} parts ready`} value={progress.ready} max={progress.total} />
          )}
          {phase === "Deleting" && <Progress label="Deleting: its parts are being removed" value={0} max={null} />}
          {!settled && progress.waiting && (
            <p>
              Waiting: {progress.waiting.reason} — {progress.waiting.message}
            </p>
          )}
          {progress.failing && (
            <p role="alert" className="form-error">
              {progress.failing.type}: {progress.failing.reason} — {progress.failing.message}
            </p>
          )}
          <dl className="facts">
            <dt>Plan</dt>
            <dd>{t.spec.plan ?? "free"}</dd>
            <dt>Size</dt>
            <dd>{t.spec.size ?? "small"}</dd>
            <dt>Replicas</dt>
            <dd>
              {t.status?.readyReplicas ?? 0} ready of {t.spec.autoscaling ? `${t.spec.autoscaling.minReplicas ?? 1}–${t.spec.autoscaling.maxReplicas} (autoscaled)` : (t.spec.replicas ?? 1)}
            </dd>
            <dt>Deletion policy</dt>
            <dd>{t.spec.deletionPolicy ?? "Retain"}</dd>
          </dl>
          <table>
            <caption>Conditions</caption>
            <thead>
              <tr>
                <th scope="col">Condition</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {conditions.map((c) => (
                <tr key={c.type}>
                  <td>{c.type}</td>
                  <td>{c.status}</td>
                  <td>{c.reason}: {c.message}</td>
                  <td>{dateTime(c.lastTransitionTime, where)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {t.status?.endpoint && (
            <p>
              Instance: <a href={t.status.endpoint}>{t.status.endpoint}</a>
            </p>
          )}
        </section>
      )}
      {t && phase !== "Deleting" && <TenantActions tenant={t} changed={() => setRound((r) => r + 1)} deleted={() => setDeleting(true)} />}
    </>
  );
}

/** Scale, suspend or resume, and delete (after a confirmation that names the deletion policy). */
function TenantActions({ tenant: t, changed, deleted }: { tenant: Tenant; changed: () => void; deleted: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const path = { params: { path: { tenant_id: t.name } } };
  const scale = useSubmit(["replicas", "reason"], async (v) => {
    await unwrap(api.POST("/tenant-orchestration/deployments/{tenant_id}/scale", { ...path, body: { replicas: Number(v.replicas), reason: v.reason ?? "" } }));
    changed();
  });
  const run = async (action: () => Promise<unknown>) => {
    setFailure(null);
    try {
      await action();
      changed();
    } catch (error) {
      setFailure((error as Error).message);
    }
  };
  const suspended = t.spec.suspended ?? false;
  return (
    <section aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      {failure && (
        <p className="form-error" role="alert">
          {failure}
        </p>
      )}
      <form onSubmit={scale.submit} noValidate>
        <FormError message={scale.formError} />
        <Field label="Replicas" name="replicas" type="number" min={1} max={20} defaultValue={t.spec.replicas ?? 1} error={scale.errorFor("replicas")} />
        <Field label="Reason for scaling" name="reason" hint="Recorded in the tenant's events" error={scale.errorFor("reason")} />
        <Submit busy={scale.busy}>Scale</Submit>
      </form>
      <div className="actions">
        <button type="button" onClick={() => void run(() => unwrap(api.PATCH("/tenant-orchestration/deployments/{tenant_id}", { ...path, body: { suspended: !suspended } })))}>
          {suspended ? "Resume" : "Suspend"}
        </button>
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Delete tenant
        </button>
      </div>
      <Confirm
        open={confirming}
        title={`Delete tenant ${t.name}?`}
        action={`Delete ${t.name}`}
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          void run(async () => {
            await unwrap(api.DELETE("/tenant-orchestration/deployments/{tenant_id}", path));
            deleted();
          });
        }}
      >
        <p>Its instance stops and its namespace goes.</p>
        <p data-testid="deletion-consequence">{deletionConsequence(t.spec.deletionPolicy)}</p>
      </Confirm>
    </section>
  );
}
