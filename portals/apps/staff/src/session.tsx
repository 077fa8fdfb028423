import type { ReactNode } from "react";
import { sessionContext, unwrap, useMe, type Credentials, type Locale } from "@dotmac/ui";
import { api, type Me } from "./api";

interface Session {
  me: Me;
  /** The instance's business time zone, for every date shown. */
  where: Locale;
  can: (permission: string) => boolean;
  reload: () => Promise<void>;
  signOut: () => Promise<void>;
}

const context = sessionContext<Session>();

/** The signed-in account; only used under `<Signed>`. */
export const useSession = context.useSession;

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
  return <context.Provider value={session}>{signedIn}</context.Provider>;
}
