import { EnrolForm, match, navigate, PageTitle, Router, SetPasswordForm, Shell, SignInForm, unwrap, usePlace } from "@dotmac/ui";
import { api } from "./api";
import { Signed, signIn, useSession } from "./session";
import { NewTenant, TenantPage, Tenants } from "./tenants";

export const BASE = "/admin/";

function Pages() {
  const { path } = usePlace();
  const session = useSession();
  const { me } = session;
  if (me.role === "admin" && !me.twoFactor) {
    return (
      <main id="main" className="narrow">
        <h1>Set up two-factor sign-in</h1>
        <p>Platform admins sign in with a second factor.</p>
        <EnrolForm
          needsPassword={false}
          begin={() => unwrap(api.POST("/me/two-factor"))}
          confirm={async (code) => (await unwrap(api.POST("/me/two-factor/confirm", { body: { code } }))).recoveryCodes}
          onDone={() => void session.reload()}
        />
      </main>
    );
  }
  let page;
  let params: Record<string, string> | null;
  if (path === "" || path === "tenants") page = <Tenants />;
  else if (path === "tenants/new") page = <NewTenant />;
  else if ((params = match("tenants/:name", path))) page = <TenantPage name={params.name ?? ""} />;
  else page = <PageTitle>Not found</PageTitle>;
  return (
    <Shell
      title="DotMac · Platform"
      nav={[{ to: "tenants", label: "Tenants" }]}
      user={me.displayName}
      onSignOut={() => void session.signOut().then(() => navigate(BASE))}
    >
      {page}
    </Shell>
  );
}

function Public({ done }: { done: () => void }) {
  const { path } = usePlace();
  if (path === "accept-invitation" || path === "reset-password") {
    return (
      <SetPasswordForm
        title={path === "accept-invitation" ? "Welcome: choose your password" : "Choose a new password"}
        setPassword={async (token, newPassword) => {
          const route = path === "accept-invitation" ? "/invitations/accept" : "/password-resets/complete";
          await unwrap(api.POST(route, { body: { token, newPassword } }));
        }}
        onDone={() => navigate(BASE, true)}
      />
    );
  }
  return <SignInForm title="Sign in to the DotMac platform" signIn={async (c) => { await signIn(c); done(); }} />;
}

export function App() {
  return (
    <Router base={BASE}>
      <Signed signedIn={<Pages />} signedOut={(done) => <Public done={done} />} />
    </Router>
  );
}
