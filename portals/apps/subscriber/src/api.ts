import type { components, paths } from "@dotmac/api/isp";
import { apiClient } from "@dotmac/ui";

/** The instance's API, signed in by the `dotmac_session` cookie. */
export const api = apiClient<paths>("dotmac_csrf");

export type Schemas = components["schemas"];
export type Me = Schemas["MeView"];
