import type { ReactNode } from "react";
import { sessionContext, unwrap, useMe, type Credentials, type Locale } from "@dotmac/ui";
import { api, type Me } from "./api";

interface Session {
  me: Me;
  /** The provider's time zone, for every time shown; invoice dates are calendar days. */
  where: Locale;
  reload: () => Promise<void>;
  signOut: () => Promise<void>;
}

const context = sessionContext<Session>();

/** The signed-in account; only used under `<Signed>`. */
export const useSession = context.useSession;

/** Signs in by e-mail or customer id with the session cookie; no token reaches the page. */
export async function signIn(credentials: Credentials): Promise<void> {
  await unwrap(
    api.POST("/sign-in", {
      body: { login: credentials.login, password: credentials.password, totp: credentials.totp ?? null, session: "cookie" },
    }),
  );
}

/** Who is signed in, or the signed-out pages. */
export function Signed({ signedIn, signedOut }: { signedIn: ReactNode; signedOut: (done: () => void) => ReactNode }) {
  const { me, failure, reload, signedOut: forget } = useMe(() => unwrap(api.GET("/me")));
  if (failure) return <p role="alert">Your provider's site could not be reached: {failure.message}</p>;
  if (me === undefined) return <p aria-busy="true">Loading…</p>;
  if (me === null) return <>{signedOut(() => void reload())}</>;
  const session: Session = {
    me,
    where: { timeZone: me.instance.time_zone },
    reload,
    signOut: async () => {
      await unwrap(api.POST("/sign-out"));
      forget();
    },
  };
  return <context.Provider value={session}>{signedIn}</context.Provider>;
}
