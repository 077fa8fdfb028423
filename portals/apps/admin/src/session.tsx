import type { ReactNode } from "react";
import { sessionContext, unwrap, useMe, type Credentials, type Locale } from "@dotmac/ui";
import { api, type User } from "./api";

interface Session {
  me: User;
  where: Locale;
  reload: () => Promise<void>;
  signOut: () => Promise<void>;
}

const context = sessionContext<Session>();

/** The signed-in account; only used under `<Signed>`. */
export const useSession = context.useSession;

/** Signs in with a cookie session; the page never holds a token. */
export async function signIn(c: Credentials): Promise<void> {
  await unwrap(api.POST("/sign-in", { body: { email: c.login, password: c.password, totp: c.totp ?? null, session: "cookie" } }));
}

/** Who is signed in, or the signed-out pages. Dates show in the browser's zone. */
export function Signed({ signedIn, signedOut }: { signedIn: ReactNode; signedOut: (done: () => void) => ReactNode }) {
  const { me, failure, reload, signedOut: forget } = useMe(() => unwrap(api.GET("/me")));
  if (failure) return <p role="alert">The management API could not be reached: {failure.message}</p>;
  if (me === undefined) return <p aria-busy="true">Loading…</p>;
  if (me === null) return <>{signedOut(() => void reload())}</>;
  const session: Session = {
    me,
    where: { timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone },
    reload,
    signOut: async () => {
      await unwrap(api.POST("/sign-out"));
      forget();
    },
  };
  return <context.Provider value={session}>{signedIn}</context.Provider>;
}
