import { useState } from "react";
import { count, dateTime, Field, PageTitle, PagedTable, Progress, Select, unwrap, type Locale } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { useSession } from "./session";

type License = Schemas["LicenseView"];
type Alert = Schemas["AlertView"];

/** One metric of a license: its use this period against its limit (-1 or none: unlimited). */
export interface Metered {
  metric: string;
  used: number;
  limit: number | null;
}

/** Each metric a license is limited or used on, by name. */
export function metered(license: Pick<License, "status">): Metered[] {
  const usage = license.status?.usage ?? {};
  const limits = license.status?.limits ?? {};
  const metrics = [...new Set([...Object.keys(limits), ...Object.keys(usage)])].sort();
  return metrics.map((metric) => {
    const limit = limits[metric];
    return { metric, used: usage[metric] ?? 0, limit: limit === undefined || limit < 0 ? null : limit };
  });
}

function Usage({ license, where }: { license: License; where: Locale }) {
  const rows = metered(license);
  if (rows.length === 0) return <>—</>;
  return (
    <ul className="usage">
      {rows.map((m) =>
        m.limit === null ? (
          <li key={m.metric}>
            {m.metric}: {count(m.used, where)} (unlimited)
          </li>
        ) : (
          <li key={m.metric}>
            <Progress label={`${m.metric}: ${count(m.used, where)} of ${count(m.limit, where)}`} value={Math.min(m.used, m.limit)} max={m.limit} />
          </li>
        ),
      )}
    </ul>
  );
}

/** Plugin licenses with their state and their use against their limits, paged on the server. */
export function Licenses() {
  const { where } = useSession();
  const [tenant, setTenant] = useState("");
  return (
    <>
      <PageTitle>Licences</PageTitle>
      <form
        className="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setTenant(String(new FormData(e.currentTarget).get("tenant") ?? "").trim());
        }}
      >
        <Field label="Tenant" name="tenant" defaultValue={tenant} />
        <button type="submit">Show</button>
      </form>
      <PagedTable<License>
        caption="Licences"
        filterKey={tenant}
        rowKey={(l) => l.name}
        fetch={(cursor, limit) => unwrap(api.GET("/plugins/subscriptions", { params: { query: { cursor: cursor ?? undefined, limit, tenant: tenant || undefined } } }))}
        columns={[
          { header: "Licence", cell: (l) => l.name },
          { header: "Tenant", cell: (l) => l.spec.tenantRef },
          { header: "Plugin", cell: (l) => `${l.spec.plugin} (${l.spec.tier ?? "standard"})` },
          { header: "State", cell: (l) => <span className={`badge ${l.status?.state === "Active" ? "ok" : l.status?.state === "Expired" || l.status?.state === "Suspended" ? "bad" : ""}`}>{l.status?.state ?? "Pending"}</span> },
          { header: "Valid until", cell: (l) => (l.spec.validUntil ? dateTime(l.spec.validUntil, where) : "—") },
          { header: "Use this period", cell: (l) => <Usage license={l} where={where} /> },
        ]}
      />
    </>
  );
}

/** Alerts the instances reported, newest first, by severity. */
export function Alerts() {
  const { where } = useSession();
  const [severity, setSeverity] = useState("");
  return (
    <>
      <PageTitle>Alerts</PageTitle>
      <form
        className="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setSeverity(String(new FormData(e.currentTarget).get("severity") ?? ""));
        }}
      >
        <Select
          label="Severity"
          name="severity"
          options={[
            ["", "Any"],
            ["critical", "critical"],
            ["warning", "warning"],
            ["info", "info"],
          ]}
        />
        <button type="submit">Show</button>
      </form>
      <PagedTable<Alert>
        caption="Alerts, newest first"
        filterKey={severity}
        rowKey={(a) => a.id}
        fetch={(cursor, limit) => unwrap(api.GET("/monitoring/alerts", { params: { query: { cursor: cursor ?? undefined, limit, severity: severity || undefined } } }))}
        columns={[
          { header: "Severity", cell: (a) => <span className={`badge ${a.severity === "critical" ? "bad" : ""}`}>{a.severity}</span> },
          { header: "Tenant", cell: (a) => a.tenant },
          { header: "Alert", cell: (a) => `${a.name}: ${a.message}` },
          { header: "Times", numeric: true, cell: (a) => count(a.count, where) },
          { header: "Last seen", cell: (a) => dateTime(a.lastSeen, where) },
        ]}
      />
    </>
  );
}
