import { useEffect, useState } from "react";
import { dateTime, Field, FormError, Link, LoadError, navigate, PageTitle, PagedTable, Progress, Submit, unwrap, useLoad, useSubmit } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { BASE } from "./app";
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
  const { where } = useSession();
  return (
    <>
      <PageTitle>Tenants</PageTitle>
      <p>
        <Link to="tenants/new">New tenant</Link>
      </p>
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

const TENANT_FIELDS = ["name", "spec.displayName", "spec.contactEmail", "spec.plan", "spec.size", "spec.deletionPolicy"];

/** Creating a tenant; a refusal names its field, then the new tenant's progress shows. */
export function NewTenant() {
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
  return (
    <>
      <PageTitle>New tenant</PageTitle>
      <form onSubmit={submit} noValidate className="card">
        <FormError message={formError} />
        <Field label="Name (lowercase letters, digits and dashes)" name="name" required error={errorFor("name")} />
        <Field label="Display name" name="spec.displayName" required error={errorFor("spec.displayName")} />
        <Field label="Contact e-mail" name="spec.contactEmail" type="email" required error={errorFor("spec.contactEmail")} />
        <div className="field">
          <label htmlFor="plan">Plan</label>
          <select id="plan" name="spec.plan" defaultValue="basic">
            {["free", "basic", "premium", "enterprise"].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="size">Size</label>
          <select id="size" name="spec.size" defaultValue="small">
            {["micro", "small", "medium", "large", "xlarge"].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="deletion">When the tenant is deleted</label>
          <select id="deletion" name="spec.deletionPolicy" defaultValue="Retain">
            <option value="Retain">Keep its database and secrets (Retain)</option>
            <option value="Delete">Delete its database and secrets (Delete)</option>
          </select>
        </div>
        <Submit busy={busy}>Create tenant</Submit>
      </form>
    </>
  );
}

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

/** One tenant: its provisioning followed live until it is Ready, or why it is not. */
export function TenantPage({ name }: { name: string }) {
  const { where } = useSession();
  const [round, setRound] = useState(0);
  const tenant = useLoad(() => unwrap(api.GET("/tenant-orchestration/deployments/{tenant_id}", { params: { path: { tenant_id: name } } })), [name, round]);
  const t = tenant.data;
  const phase = t?.status?.phase;
  const settled = phase === "Ready" || phase === "Suspended" || phase === "Degraded";
  useEffect(() => {
    if (settled) return;
    const timer = window.setTimeout(() => setRound((r) => r + 1), 1500);
    return () => window.clearTimeout(timer);
  }, [settled, round]);
  const conditions = t?.status?.conditions ?? [];
  const progress = provisioned(conditions);
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
          {!settled && <Progress label={`Provisioning: ${progress.ready} of ${progress.total} parts ready`} value={progress.ready} max={progress.total} />}
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
    </>
  );
}
