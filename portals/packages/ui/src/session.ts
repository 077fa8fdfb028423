import { createContext, useContext, useEffect, useState } from "react";
import { ApiError } from "./problem";

/**
 * Who is signed in, as a portal's shell needs it: `undefined` while loading, `null` when the
 * API answers 401 (signed out), the account otherwise; any other failure is `failure`.
 */
export function useMe<Me>(load: () => Promise<Me>) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [failure, setFailure] = useState<Error | null>(null);
  const reload = async () => {
    try {
      setMe(await load());
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) setMe(null);
      else setFailure(error as Error);
    }
  };
  useEffect(() => {
    void reload();
  }, []);
  return { me, failure, reload, signedOut: () => setMe(null) };
}

/**
 * The context a portal's signed-in pages share: its provider, and the hook that reads it (a
 * page outside the provider is a mistake, and says so).
 */
export function sessionContext<S>() {
  const Context = createContext<S | null>(null);
  function useSession(): S {
    const session = useContext(Context);
    if (!session) throw new Error("useSession outside a signed-in page");
    return session;
  }
  return { Provider: Context.Provider, useSession };
}
