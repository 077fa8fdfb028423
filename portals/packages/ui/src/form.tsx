import { useId, useState, type FormEvent, type InputHTMLAttributes, type ReactNode } from "react";
import { ApiError, placeError, toApiError } from "./problem";

/** What a form shows after a refused submit: the message by the field it names, or on top. */
export interface FormErrors {
  field: string | null;
  message: string;
}

/**
 * A form's submit state: `submit` runs `action` with the form's values, and a refusal is placed
 * next to the field the problem names (one of `fields`) or above the form.
 */
export function useSubmit<T>(fields: readonly string[], action: (values: Record<string, string>) => Promise<T>) {
  const [error, setError] = useState<FormErrors | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>): Promise<T | undefined> {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const values: Record<string, string> = {};
    for (const [key, value] of data.entries()) values[key] = String(value);
    setBusy(true);
    setError(null);
    try {
      return await action(values);
    } catch (caught) {
      const apiError = caught instanceof ApiError ? caught : toApiError(caught);
      setError(placeError(apiError, fields));
      return undefined;
    } finally {
      setBusy(false);
    }
  }
  const errorFor = (field: string) => (error?.field === field ? error.message : undefined);
  const formError = error && error.field === null ? error.message : undefined;
  return { submit, busy, errorFor, formError, setError };
}

/** A labelled input whose error, when it has one, is announced and tied to it. */
export function Field({
  label,
  error,
  hint,
  ...input
}: { label: string; error?: string | undefined; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={described || undefined} {...input} />
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} className="error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

/** A labelled choice among `options` (value, text), with its error shown like a Field's. */
export function Select({
  label,
  name,
  options,
  defaultValue,
  error,
}: {
  label: string;
  name: string;
  options: readonly (readonly [string, string])[];
  defaultValue?: string | undefined;
  error?: string | undefined;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} defaultValue={defaultValue} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined}>
        {options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
      {error && (
        <small id={`${id}-error`} className="error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

/** The error of a form that no field owns. */
export function FormError({ message }: { message?: string | undefined }) {
  if (!message) return null;
  return (
    <p className="form-error" role="alert">
      {message}
    </p>
  );
}

/** A primary button that says it is busy while its form submits. */
export function Submit({ busy, children }: { busy: boolean; children: ReactNode }) {
  return (
    <button type="submit" className="primary" disabled={busy} aria-busy={busy || undefined}>
      {children}
    </button>
  );
}
