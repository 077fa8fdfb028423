import { createContext, useContext, type ReactNode } from "react";
import { unwrap, useMe, type Credentials, type Locale } from "@dotmac/ui";
import { api, type Me } from "./api";

interface Session {
  me: Me;
  /** The instance's business time zone, for every date shown. */
  where: Locale;
  can: (permission: string) => boolean;
  reload: () => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

/** The signed-in account; only used under `<Signed>`. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

/** Signs in with the session cookie (`session: cookie`); no token reaches the page's storage. */
export async function signIn(credentials: Credentials): Promise<void> {
  await unwrap(
    api.POST("/sign-in", {
      body: { login: credentials.login, password: credentials.password, totp: credentials.totp ?? null, session: "cookie" },
    }),
  );
}

/**
 * Loads who is signed in and hands `signedIn` the session, or shows `signedOut` (with a way to
 * come back once signed in).
 */
export function Signed({
  signedIn,
  signedOut,
}: {
  signedIn: ReactNode;
  signedOut: (done: () => void) => ReactNode;
}) {
  const { me, failure, reload, signedOut: forget } = useMe(() => unwrap(api.GET("/me")));
  if (failure) return <p role="alert">The instance could not be reached: {failure.message}</p>;
  if (me === undefined) return <p aria-busy="true">Loading…</p>;
  if (me === null) return <>{signedOut(() => void reload())}</>;
  const session: Session = {
    me,
    where: { timeZone: me.instance.time_zone },
    can: (p) => me.permissions.includes(p),
    reload,
    signOut: async () => {
      await unwrap(api.POST("/sign-out"));
      forget();
    },
  };
  return <SessionContext.Provider value={session}>{signedIn}</SessionContext.Provider>;
}
