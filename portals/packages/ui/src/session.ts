import { useEffect, useState } from "react";
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
