import { useEffect, useState } from "react";
import { date, dateTime, FormError, LoadError, PageTitle, PagedTable, Progress, unwrap, useLoad, useSubmit } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { useSession } from "./session";

type Run = Schemas["RunView"];
type Kind = "billing" | "dunning";

async function fetchRun(kind: Kind, id: string): Promise<Run> {
  return kind === "billing"
    ? unwrap(api.GET("/billing-runs/{id}", { params: { path: { id } } }))
    : unwrap(api.GET("/dunning-runs/{id}", { params: { path: { id } } }));
}

/**
 * Where a run is, for its progress bar: done when finished; for a billing run under way, what
 * it processed out of that plus what is still due; otherwise unknown (an indeterminate bar).
 */
export function runProgress(run: Pick<Run, "status" | "processed" | "remaining">): { value: number; max: number | null } {
  if (run.status === "succeeded" || run.status === "failed") return { value: 1, max: 1 };
  if (run.remaining == null) return { value: 0, max: null };
  return { value: run.processed, max: run.processed + run.remaining };
}

/** A run followed until it finishes, polled once a second. */
function LiveRun({ kind, run: first, onFinished }: { kind: Kind; run: Run; onFinished: () => void }) {
  const [run, setRun] = useState(first);
  const done = run.status === "succeeded" || run.status === "failed";
  useEffect(() => {
    if (done) {
      onFinished();
      return;
    }
    const timer = window.setTimeout(() => fetchRun(kind, run.id).then(setRun, () => undefined), 1000);
    return () => window.clearTimeout(timer);
  }, [run, done]);
  const { value, max } = runProgress(run);
  const left = run.remaining != null && !done ? `, about ${run.remaining} still due` : "";
  const label = `${kind === "billing" ? "Billing" : "Dunning"} run for ${run.as_of}: ${run.status}, ${run.processed} processed${left}, ${run.created} created`;
  return (
    <div className="card" data-testid={`${kind}-run`} data-status={run.status}>
      <Progress label={label} value={value} max={max} />
      {run.error && <p role="alert">{run.error}</p>}
    </div>
  );
}

function RunSection({ kind }: { kind: Kind }) {
  const { where, can } = useSession();
  const [live, setLive] = useState<Run | null>(null);
  const [round, setRound] = useState(0);
  const start = useSubmit(["date"], async () => {
    const run = kind === "billing" ? await unwrap(api.POST("/billing-runs", { body: {} })) : await unwrap(api.POST("/dunning-runs", { body: {} }));
    setLive(run);
  });
  const title = kind === "billing" ? "Billing runs" : "Dunning runs";
  return (
    <section aria-labelledby={`${kind}-title`}>
      <h2 id={`${kind}-title`}>{title}</h2>
      {can("runs.start") && (
        <form onSubmit={start.submit}>
          <FormError message={start.formError} />
          <button type="submit" className="primary" disabled={start.busy || (live !== null && live.status !== "succeeded" && live.status !== "failed")}>
            Start a {kind} run for today
          </button>
        </form>
      )}
      {live && <LiveRun key={live.id} kind={kind} run={live} onFinished={() => setRound((r) => r + 1)} />}
      <PagedTable<Run>
        caption={title}
        filterKey={String(round)}
        rowKey={(r) => r.id}
        limit={10}
        fetch={(cursor, limit) =>
          kind === "billing"
            ? unwrap(api.GET("/billing-runs", { params: { query: { cursor: cursor ?? undefined, limit } } }))
            : unwrap(api.GET("/dunning-runs", { params: { query: { cursor: cursor ?? undefined, limit } } }))
        }
        columns={[
          { header: "For", cell: (r) => date(r.as_of, where) },
          { header: "Queued", cell: (r) => dateTime(r.created_at, where) },
          { header: "Status", cell: (r) => <span className="badge">{r.status}</span> },
          { header: "Processed", numeric: true, cell: (r) => r.processed },
          { header: "Created", numeric: true, cell: (r) => r.created },
        ]}
      />
    </section>
  );
}

/** Billing and dunning runs: start one, watch it, and the runs before. */
export function Billing() {
  const schedule = useLoad(() => unwrap(api.GET("/schedule")), []);
  const { where } = useSession();
  return (
    <>
      <PageTitle>Billing runs</PageTitle>
      <LoadError error={schedule.error} />
      {schedule.data && (
        <p>
          {schedule.data.enabled ? "Runs start on their own: " : "Runs are started by hand. Scheduled: "}
          {schedule.data.runs.map((r) => `${r.kind} next ${dateTime(r.next_at, where)}`).join("; ")}.
        </p>
      )}
      <RunSection kind="billing" />
      <RunSection kind="dunning" />
    </>
  );
}
