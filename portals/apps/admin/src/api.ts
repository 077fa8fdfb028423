import type { components, paths } from "@dotmac/api/management";
import { apiClient } from "@dotmac/ui";

/** The management API, signed in by the `dotmac_platform_session` cookie. */
export const api = apiClient<paths>("dotmac_platform_csrf");

export type Schemas = components["schemas"];
export type User = Schemas["UserView"];
