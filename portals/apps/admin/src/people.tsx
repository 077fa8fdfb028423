import { useState } from "react";
import { Confirm, dateTime, Field, FormError, PageTitle, PagedTable, Select, Submit, unwrap, useSubmit } from "@dotmac/ui";
import { api, type Schemas } from "./api";
import { BASE } from "./app";
import { useSession } from "./session";

type Invited = Schemas["InvitedView"];

/** The link an invitee opens to choose a password, for an invitation shown once. */
export function invitationLink(token: string, origin: string = window.location.origin): string {
  return `${origin}${BASE}accept-invitation#token=${encodeURIComponent(token)}`;
}

/** Something shown once (a token, an invitation link), with a way to copy it. */
function ShownOnce({ label, value }: { label: string; value: string }) {
  return (
    <div className="card" role="status">
      <p>
        {label} It is shown only now.
      </p>
      <p>
        <code data-testid="shown-once">{value}</code>
      </p>
      <button type="button" onClick={() => void navigator.clipboard?.writeText(value)}>
        Copy
      </button>
    </div>
  );
}

/**
 * The users the caller manages: an admin every user, a reseller's person its reseller's. An
 * admin invites admins and reseller users; a reseller invites its own people.
 */
export function Users() {
  const { me, where } = useSession();
  const admin = me.role === "admin";
  const [round, setRound] = useState(0);
  const [invited, setInvited] = useState<Invited | null>(null);
  const invite = useSubmit(["email", "displayName", "role", "reseller"], async (v) => {
    const role = (admin ? v.role : "reseller") as Schemas["UserRole"];
    const made = await unwrap(
      api.POST("/users", {
        body: { email: v.email ?? "", displayName: v.displayName ?? "", role, reseller: role === "reseller" ? (admin ? v.reseller || null : me.reseller) : null },
      }),
    );
    setInvited(made);
    setRound((r) => r + 1);
  });
  return (
    <>
      <PageTitle>Users</PageTitle>
      <section aria-labelledby="invite-title">
        <h2 id="invite-title">Invite someone</h2>
        <form onSubmit={invite.submit} noValidate>
          <FormError message={invite.formError} />
          <Field label="E-mail" name="email" type="email" autoComplete="off" required error={invite.errorFor("email")} />
          <Field label="Name" name="displayName" required error={invite.errorFor("displayName")} />
          {admin && (
            <>
              <Select
                label="Role"
                name="role"
                options={[
                  ["admin", "Platform admin"],
                  ["reseller", "Reseller user"],
                ]}
                error={invite.errorFor("role")}
              />
              <Field label="Reseller (for a reseller user)" name="reseller" error={invite.errorFor("reseller")} />
            </>
          )}
          <Submit busy={invite.busy}>Invite</Submit>
        </form>
        {invited?.invitation && <ShownOnce label={`Send ${invited.user.email} this link to choose a password.`} value={invitationLink(invited.invitation.token)} />}
        {invited && !invited.invitation && <p role="status">The invitation went to {invited.user.email} by e-mail.</p>}
      </section>
      <PagedTable<Schemas["UserView"]>
        caption="Users"
        filterKey={String(round)}
        rowKey={(u) => u.id}
        fetch={(cursor, limit) => unwrap(api.GET("/users", { params: { query: { cursor: cursor ?? undefined, limit } } }))}
        columns={[
          { header: "Name", cell: (u) => u.displayName },
          { header: "E-mail", cell: (u) => u.email },
          { header: "Role", cell: (u) => (u.role === "reseller" ? `reseller ${u.reseller ?? ""}` : "admin") },
          { header: "Status", cell: (u) => u.status },
          { header: "Two-factor", cell: (u) => (u.twoFactor ? "yes" : "no") },
          { header: "Invited", cell: (u) => dateTime(u.createdAt, where) },
        ]}
      />
    </>
  );
}

/** API tokens: made (shown once), listed, revoked after a confirmation. */
export function Tokens() {
  const { me, where } = useSession();
  const admin = me.role === "admin";
  const [round, setRound] = useState(0);
  const [made, setMade] = useState<Schemas["MadeToken"] | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const make = useSubmit(["name", "role", "reseller", "tenant"], async (v) => {
    const role = (admin ? v.role : "reseller") as Schemas["Role"];
    const body: Schemas["NewToken"] = { name: v.name ?? "", role };
    if (role === "reseller") body.reseller = admin ? v.reseller || null : me.reseller;
    if (role === "tenant") body.tenant = v.tenant || null;
    setMade(await unwrap(api.POST("/tokens", { body })));
    setRound((r) => r + 1);
  });
  const revoke = async (name: string) => {
    setRevoking(null);
    setFailure(null);
    try {
      await unwrap(api.DELETE("/tokens/{name}", { params: { path: { name } } }));
      setRound((r) => r + 1);
    } catch (error) {
      setFailure((error as Error).message);
    }
  };
  return (
    <>
      <PageTitle>API tokens</PageTitle>
      <section aria-labelledby="make-title">
        <h2 id="make-title">Make a token</h2>
        <form onSubmit={make.submit} noValidate>
          <FormError message={make.formError} />
          <Field label="Token name" name="name" required hint="Recorded in the audit log as the actor" error={make.errorFor("name")} />
          {admin && (
            <>
              <Select
                label="Token role"
                name="role"
                options={[
                  ["admin", "Admin: everything"],
                  ["reseller", "Reseller: one reseller's tenants"],
                  ["tenant", "Tenant: one instance's reports"],
                ]}
                error={make.errorFor("role")}
              />
              <Field label="Reseller (for a reseller token)" name="reseller" error={make.errorFor("reseller")} />
              <Field label="Tenant (for a tenant token)" name="tenant" error={make.errorFor("tenant")} />
            </>
          )}
          <Submit busy={make.busy}>Make token</Submit>
        </form>
        {made && <ShownOnce label={`Token ${made.name}: use it as a Bearer token.`} value={made.token} />}
      </section>
      {failure && (
        <p className="form-error" role="alert">
          {failure}
        </p>
      )}
      <PagedTable<Schemas["TokenView"]>
        caption="Tokens"
        filterKey={String(round)}
        rowKey={(t) => t.name}
        fetch={(cursor, limit) => unwrap(api.GET("/tokens", { params: { query: { cursor: cursor ?? undefined, limit } } }))}
        columns={[
          { header: "Name", cell: (t) => t.name },
          { header: "Role", cell: (t) => t.role },
          { header: "For", cell: (t) => t.reseller ?? t.tenant ?? "—" },
          { header: "Made", cell: (t) => dateTime(t.created_at, where) },
          { header: "Revoked", cell: (t) => (t.revoked_at ? dateTime(t.revoked_at, where) : "—") },
          {
            header: "Actions",
            cell: (t) =>
              !t.revoked_at && (
                <button type="button" onClick={() => setRevoking(t.name)}>
                  Revoke {t.name}
                </button>
              ),
          },
        ]}
      />
      <Confirm
        open={revoking !== null}
        title={`Revoke token ${revoking ?? ""}?`}
        action="Revoke"
        onCancel={() => setRevoking(null)}
        onConfirm={() => revoking && void revoke(revoking)}
      >
        <p>Every client using it is refused from now on. This cannot be undone.</p>
      </Confirm>
    </>
  );
}
