import { useState } from "react";
import { ApiError } from "./problem";
import { Field, FormError, Submit, useSubmit } from "./form";
import { navigate, usePlace } from "./router";

/** The problem kind an API answers a sign-in with when the account needs its second factor. */
const SECOND_FACTOR_REQUIRED = "/second-factor-required";

/** The e-mail (or portal id), password and, for two-factor accounts, the app's code. */
export interface Credentials {
  login: string;
  password: string;
  totp?: string;
}

/**
 * Sign-in: e-mail and password, then, when the API says the account has two-factor sign-in,
 * the authenticator code (the password is kept in the form, never stored).
 */
export function SignInForm({
  title,
  loginLabel = "E-mail",
  signIn,
}: {
  title: string;
  loginLabel?: string;
  signIn: (credentials: Credentials) => Promise<void>;
}) {
  const [needsCode, setNeedsCode] = useState(false);
  const { submit, busy, errorFor, formError, setError } = useSubmit(["login", "email", "password", "totp"], async (v) => {
    try {
      await signIn({ login: v.login ?? "", password: v.password ?? "", ...(v.totp ? { totp: v.totp } : {}) });
    } catch (error) {
      if (error instanceof ApiError && error.problem.type.endsWith(SECOND_FACTOR_REQUIRED) && !needsCode) {
        setNeedsCode(true);
        setError(null);
        return;
      }
      throw error;
    }
  });
  return (
    <main id="main" className="narrow">
      <h1>{title}</h1>
      <form onSubmit={submit} noValidate>
        <FormError message={formError} />
        <Field label={loginLabel} name="login" autoComplete="username" required error={errorFor("login") ?? errorFor("email")} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required error={errorFor("password")} />
        {needsCode && (
          <Field
            label="Authenticator code"
            name="totp"
            inputMode="numeric"
            autoComplete="one-time-code"
            autoFocus
            hint="The 6-digit code from your authenticator app"
            error={errorFor("totp")}
          />
        )}
        <Submit busy={busy}>Sign in</Submit>
      </form>
    </main>
  );
}

/** The token of an invitation or reset link, which travels in the URL's fragment. */
export function linkToken(hash: string = window.location.hash): string {
  return new URLSearchParams(hash.replace(/^#/, "")).get("token") ?? "";
}

/** Choosing a password from an invitation or reset link. */
export function SetPasswordForm({
  title,
  setPassword,
  onDone,
}: {
  title: string;
  setPassword: (token: string, password: string) => Promise<void>;
  onDone: () => void;
}) {
  const token = linkToken();
  const { submit, busy, errorFor, formError } = useSubmit(["new_password", "newPassword", "token"], async (v) => {
    await setPassword(token, v.new_password ?? "");
    onDone();
  });
  return (
    <main id="main" className="narrow">
      <h1>{title}</h1>
      <form onSubmit={submit} noValidate>
        <FormError message={formError ?? errorFor("token")} />
        <Field
          label="New password"
          name="new_password"
          type="password"
          autoComplete="new-password"
          hint="12 to 128 characters; not a common password or one made of your name or e-mail"
          required
          error={errorFor("new_password") ?? errorFor("newPassword")}
        />
        <Submit busy={busy}>Set password</Submit>
      </form>
    </main>
  );
}

/** A secret being enrolled, as both APIs show it. */
export interface Enrolment {
  secret: string;
  uri: string;
}

/**
 * Enrolling an authenticator app: start (`begin`, with the password when the API asks for it),
 * type the secret into the app, confirm with its code, then keep the recovery codes shown once.
 */
export function EnrolForm({
  begin,
  needsPassword,
  confirm,
  onDone,
}: {
  begin: (password: string) => Promise<Enrolment>;
  needsPassword: boolean;
  confirm: (code: string) => Promise<string[]>;
  onDone: () => void;
}) {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const start = useSubmit(["password"], async (v) => setEnrolment(await begin(v.password ?? "")));
  const finish = useSubmit(["code"], async (v) => setCodes(await confirm(v.code ?? "")));
  if (codes) {
    return (
      <section aria-labelledby="codes-title">
        <h2 id="codes-title">Recovery codes</h2>
        <p>Each works once if you lose your authenticator. They are shown only now: keep them safe.</p>
        <ul className="codes">
          {codes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <button type="button" className="primary" onClick={onDone}>
          I have kept them
        </button>
      </section>
    );
  }
  if (!enrolment) {
    return (
      <form onSubmit={start.submit} noValidate>
        <p>Sign-in with an authenticator app protects this account even if its password leaks.</p>
        <FormError message={start.formError} />
        {needsPassword && (
          <Field label="Your password" name="password" type="password" autoComplete="current-password" error={start.errorFor("password")} />
        )}
        <Submit busy={start.busy}>Set up an authenticator app</Submit>
      </form>
    );
  }
  return (
    <form onSubmit={finish.submit} noValidate>
      <p>
        Add this key to your authenticator app, or open <a href={enrolment.uri}>the setup link</a> on this device:
      </p>
      <p>
        <code data-testid="totp-secret">{enrolment.secret}</code>
      </p>
      <FormError message={finish.formError} />
      <Field label="Code from the app" name="code" inputMode="numeric" autoComplete="one-time-code" error={finish.errorFor("code")} />
      <Submit busy={finish.busy}>Confirm</Submit>
    </form>
  );
}

/** Which link a new password comes from. */
export type PasswordLink = "invitation" | "reset";

/**
 * What a signed-out visitor gets: at `accept-invitation` and `reset-password` (where the
 * e-mailed links lead), choosing a password, then the portal's home; anywhere else, signing in.
 */
export function SignedOutPages({
  home,
  title,
  loginLabel,
  signIn,
  setPassword,
}: {
  home: string;
  title: string;
  loginLabel?: string;
  signIn: (credentials: Credentials) => Promise<void>;
  setPassword: (link: PasswordLink, token: string, password: string) => Promise<void>;
}) {
  const { path } = usePlace();
  if (path === "accept-invitation" || path === "reset-password") {
    const link: PasswordLink = path === "accept-invitation" ? "invitation" : "reset";
    return (
      <SetPasswordForm
        title={link === "invitation" ? "Welcome: choose your password" : "Choose a new password"}
        setPassword={(token, password) => setPassword(link, token, password)}
        onDone={() => navigate(home, true)}
      />
    );
  }
  return <SignInForm title={title} {...(loginLabel ? { loginLabel } : {})} signIn={signIn} />;
}
