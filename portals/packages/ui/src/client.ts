import createClient, { type Client, type Middleware } from "openapi-fetch";
import { ApiError, isProblem, toApiError } from "./problem";

/** The header a cookie session's writes carry the CSRF token in (both APIs). */
export const CSRF_HEADER = "X-CSRF-Token";

/** The value of one cookie of this document (the CSRF cookie is not HttpOnly). */
export function readCookie(name: string, cookies: string = document.cookie): string | null {
  for (const pair of cookies.split(";")) {
    const [key, ...rest] = pair.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** Adds the CSRF token from `csrfCookie` to every write; the session cookie goes by itself. */
export function csrf(csrfCookie: string, cookies: () => string = () => document.cookie): Middleware {
  return {
    onRequest({ request }) {
      if (SAFE.has(request.method)) return request;
      const token = readCookie(csrfCookie, cookies());
      if (token) request.headers.set(CSRF_HEADER, token);
      return request;
    },
  };
}

/**
 * A typed client of one API on this origin (`/api/v1`), signed in by the session cookie: no
 * token is ever held by the page.
 */
export function apiClient<Paths extends {}>(csrfCookie: string, baseUrl = "/api/v1"): Client<Paths> {
  const client = createClient<Paths>({ baseUrl, credentials: "same-origin" });
  client.use(csrf(csrfCookie));
  return client;
}

/** The data of a call, or its problem as an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    throw toApiError(error);
  }
  const { data, error, response } = result;
  if (error !== undefined || !response.ok) {
    if (isProblem(error)) throw new ApiError({ ...error, detail: error.detail ?? "" });
    throw toApiError(new Error(`${response.status} ${response.statusText}`), response.status);
  }
  return data as T;
}
