import { match, navigate, PageTitle, Router, Shell, SignedOutPages, unwrap, usePlace } from "@dotmac/ui";
import { api } from "./api";
import { InvoicePage, Invoices, Payments } from "./invoices";
import { Overview } from "./overview";
import { Profile } from "./profile";
import { Signed, signIn, useSession } from "./session";

export const BASE = "/portal/";

const NAV = [
  { to: "", label: "My services" },
  { to: "invoices", label: "Invoices" },
  { to: "payments", label: "Payments" },
  { to: "profile", label: "Profile" },
];

function Pages() {
  const { path } = usePlace();
  const session = useSession();
  if (session.me.kind !== "subscriber") {
    return (
      <main id="main" className="narrow">
        <h1>This is the subscriber portal</h1>
        <p>
          You are signed in as staff. <a href="/staff/">The staff portal is here.</a>
        </p>
        <button type="button" onClick={() => void session.signOut()}>
          Sign out
        </button>
      </main>
    );
  }
  let page;
  let params: Record<string, string> | null;
  if (path === "") page = <Overview />;
  else if (path === "invoices") page = <Invoices />;
  else if ((params = match("invoices/:id", path))) page = <InvoicePage id={params.id ?? ""} />;
  else if (path === "payments") page = <Payments />;
  else if (path === "profile") page = <Profile />;
  else page = <PageTitle>Not found</PageTitle>;
  return (
    <Shell title="My account" nav={NAV} user={session.me.display_name} onSignOut={() => void session.signOut().then(() => navigate(BASE))}>
      {page}
    </Shell>
  );
}

function Public({ done }: { done: () => void }) {
  return (
    <SignedOutPages
      home={BASE}
      title="Sign in to your account"
      loginLabel="E-mail or customer ID"
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
