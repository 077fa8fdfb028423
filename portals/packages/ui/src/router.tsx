import { createContext, useContext, useEffect, useState, type AnchorHTMLAttributes, type ReactNode } from "react";

/** Where a portal lives (`/portal/staff/`) and the path inside it (`customers/42`). */
interface Place {
  base: string;
  path: string;
  query: URLSearchParams;
}

const PlaceContext = createContext<Place>({ base: "/", path: "", query: new URLSearchParams() });

function current(base: string): Place {
  const full = window.location.pathname;
  const path = full.startsWith(base) ? full.slice(base.length) : "";
  return { base, path: path.replace(/^\/+|\/+$/g, ""), query: new URLSearchParams(window.location.search) };
}

/** Moves to `to` (inside the portal) without a reload. */
export function navigate(to: string, replace = false): void {
  const url = new URL(to, window.location.href);
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

/** The portal's place, kept in step with the history. */
export function Router({ base, children }: { base: string; children: ReactNode }) {
  const [place, setPlace] = useState(() => current(base));
  useEffect(() => {
    const update = () => setPlace(current(base));
    window.addEventListener("popstate", update);
    return () => window.removeEventListener("popstate", update);
  }, [base]);
  return <PlaceContext.Provider value={place}>{children}</PlaceContext.Provider>;
}

/** The current place. */
export function usePlace(): Place {
  return useContext(PlaceContext);
}

/**
 * Matches `path` against `pattern` (`customers/:id`): the named segments, or null.
 */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const have = path.split("/").filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (const [i, segment] of want.entries()) {
    const actual = have[i] ?? "";
    if (segment.startsWith(":")) params[segment.slice(1)] = decodeURIComponent(actual);
    else if (segment !== actual) return null;
  }
  return params;
}

/** A link inside the portal: a real `<a href>` (so it opens in a new tab too), routed here. */
export function Link({ to, children, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const { base } = usePlace();
  const href = base + to.replace(/^\//, "");
  return (
    <a
      {...rest}
      href={href}
      onClick={(event) => {
        rest.onClick?.(event);
        if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
