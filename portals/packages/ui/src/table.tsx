import { useEffect, useState, type ReactNode } from "react";
import { back, FIRST, forward, pageNumber, type Cursor, type Page } from "./paging";
import { useLoad, LoadError } from "./parts";

/** A column: its heading and how a row shows in it. */
export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
  /** Right-aligned (amounts, counts). */
  numeric?: boolean;
}

/**
 * A list paged on the server: `fetch` gets one page for a cursor; changing `filterKey` (a
 * search, a status) starts again from the first page.
 */
export function PagedTable<T>({
  caption,
  columns,
  fetch,
  rowKey,
  filterKey = "",
  limit = 50,
}: {
  caption: string;
  columns: Column<T>[];
  fetch: (cursor: string | null, limit: number) => Promise<Page<T>>;
  rowKey: (row: T) => string;
  filterKey?: string;
  limit?: number;
}) {
  const [at, setAt] = useState<Cursor>(FIRST);
  useEffect(() => setAt(FIRST), [filterKey]);
  const { data, error, loading } = useLoad(() => fetch(at.current, limit), [at.current, filterKey, limit]);
  const next = data?.next_cursor ?? null;
  return (
    <div className="table">
      <LoadError error={error} />
      <table aria-busy={loading || undefined}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col" className={c.numeric ? "num" : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data?.items.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.header} className={c.numeric ? "num" : undefined}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
          {data && data.items.length === 0 && (
            <tr>
              <td colSpan={columns.length}>Nothing here yet.</td>
            </tr>
          )}
        </tbody>
      </table>
      <nav className="pager" aria-label={`${caption} pages`}>
        <button type="button" disabled={at.before.length === 0} onClick={() => setAt(back(at))}>
          Previous
        </button>
        <span aria-live="polite">Page {pageNumber(at)}</span>
        <button type="button" disabled={!next} onClick={() => next && setAt(forward(at, next))}>
          Next
        </button>
      </nav>
    </div>
  );
}
