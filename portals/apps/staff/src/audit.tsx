import { dateTime, PageTitle, PagedTable, unwrap } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { useSession } from "./session";

/** Who did what to which record, newest first. */
export function AuditLog() {
  const { where } = useSession();
  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <PagedTable<Schemas["AuditView"]>
        caption="Audit log"
        rowKey={(a) => a.id}
        fetch={(cursor, limit) => unwrap(api.GET("/audit-log", { params: { query: { cursor: cursor ?? undefined, limit } } }))}
        columns={[
          { header: "When", cell: (a) => dateTime(a.at, where) },
          { header: "Who", cell: (a) => a.actor },
          { header: "What", cell: (a) => a.action },
          { header: "Record", cell: (a) => `${a.entity} ${a.entity_id.slice(0, 8)}` },
        ]}
      />
    </>
  );
}
