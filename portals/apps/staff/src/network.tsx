import { bytes, count, dateTime, PageTitle, PagedTable, Progress, unwrap } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { useSession } from "./session";

/** Network access at a glance: NAS, address pools with their utilisation, live RADIUS sessions. */
export function Network() {
  const { where } = useSession();
  return (
    <>
      <PageTitle>Network</PageTitle>
      <section aria-labelledby="pools-title">
        <h2 id="pools-title">Address pools</h2>
        <PagedTable<Schemas["PoolView"]>
          caption="Pools with their utilisation"
          rowKey={(p) => p.id}
          fetch={(cursor, limit) => unwrap(api.GET("/ip-pools", { params: { query: { cursor: cursor ?? undefined, limit } } }))}
          columns={[
            { header: "Pool", cell: (p) => `${p.name}${p.walled_garden ? " (walled garden)" : ""}` },
            { header: "Prefix", cell: (p) => p.prefix + (p.delegated_length ? ` → /${p.delegated_length}` : "") },
            { header: "For", cell: (p) => p.site ?? (p.nas_id ? "one NAS" : "every NAS") },
            { header: "In use", numeric: true, cell: (p) => `${count(p.used, where)} of ${count(p.size, where)}` },
            { header: "Utilisation", cell: (p) => <Progress label={`${p.name}: ${p.utilisation_percent.toFixed(1)} % in use`} value={p.used} max={p.size} /> },
          ]}
        />
      </section>
      <section aria-labelledby="sessions-title">
        <h2 id="sessions-title">Live sessions</h2>
        <PagedTable<Schemas["SessionView2"]>
          caption="Live RADIUS sessions"
          rowKey={(s) => s.id}
          fetch={(cursor, limit) => unwrap(api.GET("/radius-sessions", { params: { query: { cursor: cursor ?? undefined, limit, live: true } } }))}
          columns={[
            { header: "Login", cell: (s) => s.username + (s.flag ? ` (${s.flag})` : "") },
            { header: "Address", cell: (s) => s.framed_address ?? "—" },
            { header: "Since", cell: (s) => dateTime(s.started_at, where) },
            { header: "Down", numeric: true, cell: (s) => bytes(s.output_octets, where) },
            { header: "Up", numeric: true, cell: (s) => bytes(s.input_octets, where) },
          ]}
        />
      </section>
      <section aria-labelledby="nas-title">
        <h2 id="nas-title">NAS</h2>
        <PagedTable<Schemas["NasView"]>
          caption="Network access servers"
          rowKey={(n) => n.id}
          fetch={(cursor, limit) => unwrap(api.GET("/nas", { params: { query: { cursor: cursor ?? undefined, limit } } }))}
          columns={[
            { header: "Name", cell: (n) => n.name },
            { header: "Address", cell: (n) => n.address },
            { header: "Vendor", cell: (n) => n.vendor },
            { header: "CoA port", numeric: true, cell: (n) => n.coa_port },
            { header: "Site", cell: (n) => n.site ?? "—" },
          ]}
        />
      </section>
    </>
  );
}
