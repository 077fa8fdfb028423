import { useState } from "react";
import { dateTime, EnrolForm, Field, FormError, LoadError, PageTitle, Submit, unwrap, useLoad, useSubmit } from "@dotmac/ui";
import { api } from "./api";
import { useSession } from "./session";

/** The subscriber's details, two-factor sign-in, password and signed-in devices. */
export function Profile() {
  const { me, where, reload } = useSession();
  const [enrolling, setEnrolling] = useState(false);
  const sessions = useLoad(() => unwrap(api.GET("/me/sessions")), []);
  const [failure, setFailure] = useState<string | null>(null);
  const [changed, setChanged] = useState(false);
  const password = useSubmit(["current_password", "new_password"], async (v) => {
    await unwrap(api.POST("/me/password", { body: { current_password: v.current_password ?? "", new_password: v.new_password ?? "" } }));
    setChanged(true);
    sessions.reload();
  });
  const disable = useSubmit(["password"], async (v) => {
    await unwrap(api.POST("/me/two-factor/disable", { body: { password: v.password ?? "" } }));
    await reload();
  });
  const end = async (id: string) => {
    setFailure(null);
    try {
      await unwrap(api.DELETE("/me/sessions/{id}", { params: { path: { id } } }));
      sessions.reload();
    } catch (error) {
      setFailure((error as Error).message);
    }
  };
  return (
    <>
      <PageTitle>Profile and security</PageTitle>
      <section aria-labelledby="details-title">
        <h2 id="details-title">Your details</h2>
        <dl className="facts">
          <dt>Name</dt>
          <dd>{me.display_name}</dd>
          <dt>E-mail</dt>
          <dd>{me.email}</dd>
          {me.portal_id && (
            <>
              <dt>Customer ID (you can sign in with it)</dt>
              <dd>
                <code>{me.portal_id}</code>
              </dd>
            </>
          )}
        </dl>
      </section>
      <section aria-labelledby="two-factor-title">
        <h2 id="two-factor-title">Two-factor sign-in</h2>
        {me.two_factor ? (
          <form onSubmit={disable.submit} noValidate>
            <p data-testid="two-factor-state">On: signing in asks for a code from your authenticator app.</p>
            <FormError message={disable.formError} />
            <Field label="Your password, to turn it off" name="password" type="password" autoComplete="current-password" error={disable.errorFor("password")} />
            <Submit busy={disable.busy}>Turn off two-factor sign-in</Submit>
          </form>
        ) : enrolling ? (
          <EnrolForm
            needsPassword
            begin={(pw) => unwrap(api.POST("/me/two-factor", { body: { password: pw } }))}
            confirm={async (code) => (await unwrap(api.POST("/me/two-factor/confirm", { body: { code } }))).recovery_codes}
            onDone={() => {
              setEnrolling(false);
              void reload();
            }}
          />
        ) : (
          <>
            <p data-testid="two-factor-state">Off: your password alone signs you in.</p>
            <button type="button" className="primary" onClick={() => setEnrolling(true)}>
              Turn on two-factor sign-in
            </button>
          </>
        )}
      </section>
      <section aria-labelledby="password-title">
        <h2 id="password-title">Password</h2>
        {changed && <p role="status">Your password is changed; your other devices are signed out.</p>}
        <form onSubmit={password.submit} noValidate>
          <FormError message={password.formError} />
          <Field label="Current password" name="current_password" type="password" autoComplete="current-password" error={password.errorFor("current_password")} />
          <Field label="New password" name="new_password" type="password" autoComplete="new-password" hint="12 to 128 characters" error={password.errorFor("new_password")} />
          <Submit busy={password.busy}>Change password</Submit>
        </form>
      </section>
      <section aria-labelledby="sessions-title">
        <h2 id="sessions-title">Where you are signed in</h2>
        <LoadError error={sessions.error} />
        {failure && (
          <p className="form-error" role="alert">
            {failure}
          </p>
        )}
        <ul>
          {sessions.data?.map((s) => (
            <li key={s.id}>
              {s.user_agent ?? "A browser"} from {s.source}, since {dateTime(s.created_at, where)}
              {s.current ? (
                " (this device)"
              ) : (
                <>
                  {" "}
                  <button type="button" onClick={() => void end(s.id)}>
                    Sign out that device
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
