/** An RFC 9457 problem+json answer, as both APIs send them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The request field at fault (`email`, `spec.plan`, `address.city`), when one is. */
  field?: string | null;
}

/** A request the API refused, with its problem. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
    this.name = "ApiError";
  }

  get status(): number {
    return this.problem.status;
  }
}

/** Whether a parsed body looks like a problem+json document. */
export function isProblem(body: unknown): body is Problem {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.title === "string" && typeof b.status === "number";
}

/**
 * The problem of a failed call as an ApiError; a network failure or a body that is not
 * problem+json becomes one too, so that every error can be shown the same way.
 */
export function toApiError(error: unknown, status = 0): ApiError {
  if (error instanceof ApiError) return error;
  if (isProblem(error)) return new ApiError({ ...error, detail: error.detail ?? "" });
  const detail = error instanceof Error ? error.message : "The server could not be reached.";
  return new ApiError({ type: "about:blank", title: "Request failed", status, detail });
}

/**
 * Splits an error between the form fields that exist and the rest: a field the API names is
 * shown next to that field (`address.city` falls back to `address` when only that exists);
 * anything else is shown above the form.
 */
export function placeError(
  error: ApiError,
  fields: readonly string[],
): { field: string | null; message: string } {
  const named = error.problem.field;
  const message = error.problem.detail || error.problem.title;
  if (!named) return { field: null, message };
  const parts = named.split(".");
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join(".");
    if (fields.includes(candidate)) return { field: candidate, message };
  }
  return { field: null, message: `${named}: ${message}` };
}
