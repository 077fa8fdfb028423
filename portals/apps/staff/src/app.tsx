import { EnrolForm, match, navigate, PageTitle, Router, Shell, SignedOutPages, unwrap, usePlace, type NavItem } from "@dotmac/ui";
import { api } from "./api";
import { AuditLog } from "./audit";
import { Billing } from "./billing";
import { CustomerPage, Customers, NewCustomer } from "./customers";
import { Dashboard } from "./dashboard";
import { DunningPolicy } from "./dunning";
import { Invoices } from "./invoices";
import { Network } from "./network";
import { Signed, signIn, useSession } from "./session";
import { Vouchers } from "./vouchers";

export const BASE = "/staff/";

/** The navigation, less what the account's role may not see. */
export function navFor(can: (p: string) => boolean): NavItem[] {
  const items: (NavItem & { needs: string })[] = [
    { to: "", label: "Dashboard", needs: "analytics.read" },
    { to: "customers", label: "Customers", needs: "customers.read" },
    { to: "invoices", label: "Invoices", needs: "invoices.read" },
    { to: "billing", label: "Billing runs", needs: "runs.read" },
    { to: "vouchers", label: "Vouchers", needs: "payments.read" },
    { to: "dunning", label: "Dunning policy", needs: "dunning.read" },
    { to: "network", label: "Network", needs: "network.read" },
    { to: "audit", label: "Audit log", needs: "audit.read" },
  ];
  return items.filter((i) => can(i.needs)).map(({ to, label }) => ({ to, label }));
}

function Pages() {
  const { path } = usePlace();
  const session = useSession();
  const { me, can } = session;
  if (me.kind === "subscriber") {
    return (
      <main id="main" className="narrow">
        <h1>This is the staff portal</h1>
        <p>
          You are signed in as a subscriber. <a href="/portal/">Your account is here.</a>
        </p>
        <button type="button" onClick={() => void session.signOut()}>
          Sign out
        </button>
      </main>
    );
  }
  if (me.must_enrol_second_factor) {
    return (
      <main id="main" className="narrow">
        <h1>Set up two-factor sign-in</h1>
        <p>Your role needs a second factor before anything else.</p>
        <EnrolForm
          needsPassword
          begin={(password) => unwrap(api.POST("/me/two-factor", { body: { password } }))}
          confirm={async (code) => (await unwrap(api.POST("/me/two-factor/confirm", { body: { code } }))).recovery_codes}
          onDone={() => void session.reload()}
        />
      </main>
    );
  }
  let page;
  let id: Record<string, string> | null;
  if (path === "") page = can("analytics.read") ? <Dashboard /> : can("customers.read") ? <Customers /> : <PageTitle>Nothing here for your role</PageTitle>;
  else if (path === "customers" && can("customers.read")) page = <Customers />;
  else if (path === "customers/new" && can("customers.write")) page = <NewCustomer />;
  else if ((id = match("customers/:id", path)) && can("customers.read")) page = <CustomerPage id={id.id ?? ""} />;
  else if (path === "invoices" && can("invoices.read")) page = <Invoices />;
  else if (path === "billing" && can("runs.read")) page = <Billing />;
  else if (path === "vouchers" && can("payments.read")) page = <Vouchers />;
  else if (path === "dunning" && can("dunning.read")) page = <DunningPolicy />;
  else if (path === "network" && can("network.read")) page = <Network />;
  else if (path === "audit" && can("audit.read")) page = <AuditLog />;
  else page = <PageTitle>Not found</PageTitle>;
  return (
    <Shell title="DotMac · Staff" nav={navFor(can)} user={me.display_name} onSignOut={() => void session.signOut().then(() => navigate(BASE))}>
      {page}
    </Shell>
  );
}

function Public({ done }: { done: () => void }) {
  return (
    <SignedOutPages
      home={BASE}
      title="Sign in to your ISP"
      signIn={async (c) => {
        await signIn(c);
        done();
      }}
      setPassword={async (link, token, new_password) => {
        const route = link === "invitation" ? "/invitations/accept" : "/password-resets/complete";
        await unwrap(api.POST(route, { body: { token, new_password } }));
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
