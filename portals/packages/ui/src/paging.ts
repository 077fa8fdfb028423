/** One page as both APIs send lists: the rows and the cursor of the next page. */
export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

/**
 * Where a reader is in a keyset-paged list: the cursors of the pages before this one (the APIs
 * page forwards only, so going back replays a remembered cursor).
 */
export interface Cursor {
  /** The cursor this page was fetched with (`null`: the first page). */
  current: string | null;
  /** The cursors of the pages before, oldest first. */
  before: (string | null)[];
}

export const FIRST: Cursor = { current: null, before: [] };

/** The next page's position, from this page's `next_cursor`. */
export function forward(at: Cursor, next: string): Cursor {
  return { current: next, before: [...at.before, at.current] };
}

/** The previous page's position; the first page stays where it is. */
export function back(at: Cursor): Cursor {
  if (at.before.length === 0) return at;
  return { current: at.before[at.before.length - 1] ?? null, before: at.before.slice(0, -1) };
}

/** The 1-based number of the page at `at`. */
export function pageNumber(at: Cursor): number {
  return at.before.length + 1;
}
