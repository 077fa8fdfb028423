import { useEffect, useRef, useState, type ReactNode } from "react";
import { Link, usePlace } from "./router";

/** One entry of a portal's navigation. */
export interface NavItem {
  to: string;
  label: string;
}

/** The page frame: a skip link, the portal's name, its navigation and who is signed in. */
export function Shell({
  title,
  nav,
  user,
  onSignOut,
  children,
}: {
  title: string;
  nav: NavItem[];
  user: string;
  onSignOut: () => void;
  children: ReactNode;
}) {
  const { path } = usePlace();
  const section = path.split("/")[0] ?? "";
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <strong className="brand">{title}</strong>
        <nav aria-label="Main">
          <ul>
            {nav.map((item) => (
              <li key={item.to}>
                <Link to={item.to} aria-current={item.to.split("/")[0] === section ? "page" : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          {user}{" "}
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

/** A page heading that takes focus when the page changes, so screen readers announce it. */
export function PageTitle({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

/** Progress of a long operation, announced as it moves. */
export function Progress({ label, value, max }: { label: string; value: number; max: number | null }) {
  const percent = max && max > 0 ? Math.min(100, Math.round((value / max) * 100)) : null;
  return (
    <div className="progress">
      <span>{label}</span>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={max ?? undefined}
        aria-valuenow={max ? value : undefined}
        aria-valuetext={percent === null ? "in progress" : `${percent}%`}
      >
        <div className="bar" style={{ width: percent === null ? "100%" : `${percent}%` }} data-indeterminate={percent === null || undefined} />
      </div>
    </div>
  );
}

/**
 * A confirmation in a modal `<dialog>` (focus is trapped and Escape cancels, by the browser):
 * `children` says what will happen.
 */
export function Confirm({
  open,
  title,
  action,
  onConfirm,
  onCancel,
  children,
}: {
  open: boolean;
  title: string;
  action: string;
  onConfirm: () => void;
  onCancel: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={onCancel}>
      <h2 id="confirm-title">{title}</h2>
      {children}
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={onConfirm}>
          {action}
        </button>
      </div>
    </dialog>
  );
}

/** One bar of a chart. */
export interface Bar {
  label: string;
  value: number;
  /** The value as shown (money, bytes). */
  text: string;
}

/**
 * A bar chart in SVG with the numbers also in a table for screen readers; `limit` draws a line
 * (an allowance, a cap) across it.
 */
export function BarChart({ title, bars, limit }: { title: string; bars: Bar[]; limit?: { value: number; text: string } }) {
  const top = Math.max(1, limit?.value ?? 0, ...bars.map((b) => b.value));
  const width = 40 * Math.max(bars.length, 1);
  const y = (v: number) => 100 - (v / top) * 100;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} 110`} role="img" aria-label={title} preserveAspectRatio="none">
        {bars.map((bar, i) => (
          <rect key={bar.label} x={i * 40 + 6} width={28} y={y(bar.value)} height={100 - y(bar.value)}>
            <title>{`${bar.label}: ${bar.text}`}</title>
          </rect>
        ))}
        {limit && <line className="limit" x1={0} x2={width} y1={y(limit.value)} y2={y(limit.value)} />}
      </svg>
      <table className="visually-hidden">
        <caption>{title}</caption>
        <tbody>
          {bars.map((bar) => (
            <tr key={bar.label}>
              <th scope="row">{bar.label}</th>
              <td>{bar.text}</td>
            </tr>
          ))}
          {limit && (
            <tr>
              <th scope="row">Limit</th>
              <td>{limit.text}</td>
            </tr>
          )}
        </tbody>
      </table>
    </figure>
  );
}

/** A value that loads: its data, its error, and a way to load it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return { ...state, reload: () => setRound((r) => r + 1) };
}

/** An error in place of what failed to load. */
export function LoadError({ error }: { error?: Error | undefined }) {
  if (!error) return null;
  return (
    <p className="form-error" role="alert">
      {error.message}
    </p>
  );
}
