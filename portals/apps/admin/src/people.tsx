import { useState } from "react";
import { Confirm, dateTime, Field, FormError, LoadError, PageTitle, Select, Submit, unwrap, useLoad, useSubmit } from "@dotmac/ui";
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
  const list = useLoad(() => unwrap(api.GET("/users")), []);
  const [invited, setInvited] = useState<Invited | null>(null);
  const invite = useSubmit(["email", "displayName", "role", "reseller"], async (v) => {
    const role = (admin ? v.role : "reseller") as Schemas["UserRole"];
    const made = await unwrap(
      api.POST("/users", {
        body: { email: v.email ?? "", displayName: v.displayName ?? "", role, reseller: role === "reseller" ? (admin ? v.reseller || null : me.reseller) : null },
      }),
    );
    setInvited(made);
    list.reload();
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
      <LoadError error={list.error} />
      <div className="table">
        <table aria-busy={list.loading || undefined}>
          <caption>Users</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">E-mail</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Two-factor</th>
              <th scope="col">Invited</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.map((u) => (
              <tr key={u.id}>
                <td>{u.displayName}</td>
                <td>{u.email}</td>
                <td>{u.role === "reseller" ? `reseller ${u.reseller ?? ""}` : "admin"}</td>
                <td>{u.status}</td>
                <td>{u.twoFactor ? "yes" : "no"}</td>
                <td>{dateTime(u.createdAt, where)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** API tokens: made (shown once), listed, revoked after a confirmation. */
export function Tokens() {
  const { me, where } = useSession();
  const admin = me.role === "admin";
  const list = useLoad(() => unwrap(api.GET("/tokens")), []);
  const [made, setMade] = useState<Schemas["MadeToken"] | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const make = useSubmit(["name", "role", "reseller", "tenant"], async (v) => {
    const role = (admin ? v.role : "reseller") as Schemas["Role"];
    const body: Schemas["NewToken"] = { name: v.name ?? "", role };
    if (role === "reseller") body.reseller = admin ? v.reseller || null : me.reseller;
    if (role === "tenant") body.tenant = v.tenant || null;
    setMade(await unwrap(api.POST("/tokens", { body })));
    list.reload();
  });
  const revoke = async (name: string) => {
    setRevoking(null);
    setFailure(null);
    try {
      await unwrap(api.DELETE("/tokens/{name}", { params: { path: { name } } }));
      list.reload();
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
      <LoadError error={list.error} />
      {failure && (
        <p className="form-error" role="alert">
          {failure}
        </p>
      )}
      <div className="table">
        <table aria-busy={list.loading || undefined}>
          <caption>Tokens</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">For</th>
              <th scope="col">Made</th>
              <th scope="col">Revoked</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data?.map((t) => (
              <tr key={t.name}>
                <td>{t.name}</td>
                <td>{t.role}</td>
                <td>{t.reseller ?? t.tenant ?? "—"}</td>
                <td>{dateTime(t.created_at, where)}</td>
                <td>{t.revoked_at ? dateTime(t.revoked_at, where) : "—"}</td>
                <td>
                  {!t.revoked_at && (
                    <button type="button" onClick={() => setRevoking(t.name)}>
                      Revoke {t.name}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
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
