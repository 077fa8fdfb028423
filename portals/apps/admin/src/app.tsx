import { EnrolForm, match, navigate, PageTitle, Router, Shell, SignedOutPages, unwrap, usePlace, type NavItem } from "@dotmac/ui";
import { api, type User } from "./api";
import { Alerts, Licenses } from "./monitoring";
import { Tokens, Users } from "./people";
import { Commissions, ResellerPage, Resellers } from "./resellers";
import { Signed, signIn, useSession } from "./session";
import { NewTenant, TenantPage, Tenants } from "./tenants";

export const BASE = "/admin/";

/**
 * The navigation a user gets: admins run the whole platform; a reseller's people see their
 * own tenants, their commission ledger and their own users and tokens.
 */
export function navFor(me: Pick<User, "role" | "reseller">): NavItem[] {
  if (me.role === "admin") {
    return [
      { to: "tenants", label: "Tenants" },
      { to: "licences", label: "Licences" },
      { to: "alerts", label: "Alerts" },
      { to: "resellers", label: "Resellers" },
      { to: "users", label: "Users" },
      { to: "tokens", label: "Tokens" },
    ];
  }
  return [
    { to: "tenants", label: "Tenants" },
    { to: "licences", label: "Licences" },
    { to: "alerts", label: "Alerts" },
    { to: "commissions", label: "Commissions" },
    { to: "users", label: "Users" },
    { to: "tokens", label: "Tokens" },
  ];
}

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
  const admin = me.role === "admin";
  let page;
  let params: Record<string, string> | null;
  if (path === "" || path === "tenants") page = <Tenants />;
  else if (path === "tenants/new") page = <NewTenant />;
  else if ((params = match("tenants/:name", path))) page = <TenantPage name={params.name ?? ""} />;
  else if (path === "licences") page = <Licenses />;
  else if (path === "alerts") page = <Alerts />;
  else if (path === "resellers" && admin) page = <Resellers />;
  else if ((params = match("resellers/:name", path)) && admin) page = <ResellerPage name={params.name ?? ""} />;
  else if (path === "commissions" && me.reseller) page = <Commissions reseller={me.reseller} />;
  else if (path === "users") page = <Users />;
  else if (path === "tokens") page = <Tokens />;
  else page = <PageTitle>Not found</PageTitle>;
  return (
    <Shell
      title={admin ? "DotMac · Platform" : `DotMac · Reseller ${me.reseller ?? ""}`}
      nav={navFor(me)}
      user={me.displayName}
      onSignOut={() => void session.signOut().then(() => navigate(BASE))}
    >
      {page}
    </Shell>
  );
}

function Public({ done }: { done: () => void }) {
  return (
    <SignedOutPages
      home={BASE}
      title="Sign in to the DotMac platform"
      signIn={async (c) => {
        await signIn(c);
        done();
      }}
      setPassword={async (link, token, newPassword) => {
        const route = link === "invitation" ? "/invitations/accept" : "/password-resets/complete";
        await unwrap(api.POST(route, { body: { token, newPassword } }));
      }}
    />
  );
}

export function App() {
  return (
    <Router base={BASE}>
      <Signed signedIn={<Pages />} signedOut={(done) => <Public done={done} />} />
    </Router>
  );
}
