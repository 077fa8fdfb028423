import { createContext, useContext, type ReactNode } from "react";
import { unwrap, useMe, type Credentials, type Locale } from "@dotmac/ui";
import { api, type User } from "./api";

interface Session {
  me: User;
  where: Locale;
  reload: () => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

/** The signed-in user; only used under `<Signed>`. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

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
  return <SessionContext.Provider value={session}>{signedIn}</SessionContext.Provider>;
}
