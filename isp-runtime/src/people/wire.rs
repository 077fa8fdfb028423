//! What the sign-in, self-service and people API reads and writes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    AccountKind, AccountStatus, Permission, Role, SessionKind,
    entity::{account, session},
};

/// `POST /sign-in`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// E-mail address, or a subscriber's portal id.
    pub login: String,
    /// Password.
    pub password: String,
    /// A code from the authenticator app, for accounts with two-factor sign-in.
    pub totp: Option<String>,
    /// Or one of the account's recovery codes (each works once).
    pub recovery_code: Option<String>,
    /// `cookie` (the default) for a browser, `bearer` for an API client.
    pub session: Option<SessionKind>,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("login", &self.login)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// An account as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AccountView {
    /// Account id.
    pub id: Uuid,
    /// Staff or subscriber.
    pub kind: AccountKind,
    /// E-mail address.
    pub email: String,
    /// Name shown in the portals.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The customer, for a subscriber.
    pub customer_id: Option<Uuid>,
    /// The subscriber's portal id.
    pub portal_id: Option<String>,
    /// Invited, active or disabled.
    pub status: AccountStatus,
    /// Whether it signs in with a second factor.
    pub two_factor: bool,
    /// When the password was last set.
    pub password_changed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was made.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<account::Model> for AccountView {
    fn from(a: account::Model) -> Self {
        Self {
            id: a.id,
            kind: a.kind,
            email: a.email,
            display_name: a.display_name,
            role: a.role,
            customer_id: a.customer_id,
            portal_id: a.portal_id,
            status: a.status,
            two_factor: a.totp_secret.is_some(),
            password_changed_at: a.password_changed_at,
            created_at: a.created_at,
        }
    }
}

/// `GET /me`: the account, and what it may do, so a portal offers only that.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MeView {
    /// The account.
    #[serde(flatten)]
    pub account: AccountView,
    /// The permissions its role grants (`customers.read`, …).
    pub permissions: Vec<&'static str>,
    /// Whether it must enrol a second factor before anything else.
    pub must_enrol_second_factor: bool,
    /// How the instance shows money and time.
    pub instance: InstanceView,
}

/// How the instance shows money and time, for the portals to format with.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct InstanceView {
    /// Its currency (ISO 4217), that of new customers and plans.
    pub currency: String,
    /// The IANA time zone of its business day.
    pub time_zone: String,
}

impl MeView {
    /// The view of `account` in a session with or without its second factor.
    pub fn new(account: account::Model, second_factor: bool, instance: InstanceView) -> Self {
        use sea_orm::Iterable;
        let role = account.role;
        Self {
            must_enrol_second_factor: role.needs_second_factor() && !second_factor,
            permissions: Permission::iter()
                .filter(|p| !matches!(p, Permission::Public | Permission::OwnAccount))
                .filter(|p| role.allows(*p))
                .map(Permission::name)
                .collect(),
            account: account.into(),
            instance,
        }
    }
}

/// A session as listed.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SessionView {
    /// Session id.
    pub id: Uuid,
    /// Cookie or bearer.
    pub kind: SessionKind,
    /// Whether this is the session of the request.
    pub current: bool,
    /// Whether the second factor was given.
    pub second_factor: bool,
    /// Where it was opened from.
    pub source: String,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// When it was opened.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was last used (to the minute).
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
    /// When it ends at the latest.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl SessionView {
    /// The view of `s`, flagged when it is `current`.
    pub fn new(s: session::Model, current: Option<Uuid>) -> Self {
        Self {
            current: current == Some(s.id),
            id: s.id,
            kind: s.kind,
            second_factor: s.second_factor,
            source: s.source,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
        }
    }
}

/// The answer to a sign-in: the account and its new session. The secrets are shown this once.
#[derive(Serialize, schemars::JsonSchema)]
pub struct SignedInView {
    /// The account and its permissions.
    pub account: MeView,
    /// The session.
    pub session: SessionView,
    /// The bearer token, for a bearer session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The CSRF token to send in `X-CSRF-Token` with each write, for a cookie session (also in
    /// the `dotmac_csrf` cookie).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// A password given to prove it is the account holder.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reauthenticate {
    /// The account's current password.
    pub password: String,
}

/// `POST /me/password`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new one: 12 to 128 characters, not a common or personal one.
    pub new_password: String,
}

/// `POST /invitations/accept` and `POST /password-resets/complete`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkUse {
    /// The token from the link's `#token=` fragment.
    pub token: String,
    /// The password to set: 12 to 128 characters, not a common or personal one.
    pub new_password: String,
}

/// `POST /password-resets`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// E-mail address or portal id. The answer is the same whether or not it has an account.
    pub login: String,
}

/// `POST /me/two-factor/confirm`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Code {
    /// A code from the authenticator app.
    pub code: String,
}

/// A secret being enrolled; shown this once.
#[derive(Serialize, schemars::JsonSchema)]
pub struct EnrolmentView {
    /// The secret in base32, to type into the app.
    pub secret: String,
    /// The `otpauth://` URI, to show as a QR code.
    pub uri: String,
}

/// Recovery codes; shown this once.
#[derive(Serialize, schemars::JsonSchema)]
pub struct RecoveryCodesView {
    /// Ten codes, each good for one sign-in without the app.
    pub recovery_codes: Vec<String>,
}

/// `POST /accounts`: invite a member of staff.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// E-mail address the invitation goes to.
    pub email: String,
    /// Name shown in the portals.
    pub display_name: String,
    /// Role (a staff role).
    pub role: Role,
}

/// `POST /customers/{id}/portal-account`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscriber {
    /// Where the invitation goes; the customer's e-mail address by default.
    pub email: Option<String>,
}

/// `POST /lockouts/lift`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressUnlock {
    /// The IP address whose sign-in lockout to lift.
    pub address: String,
}

/// `PATCH /accounts/{id}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// New display name.
    pub display_name: Option<String>,
    /// New role (staff accounts).
    pub role: Option<Role>,
    /// `active` or `disabled` (which ends its sessions).
    pub status: Option<AccountStatus>,
}

/// An account just invited.
#[derive(Serialize, schemars::JsonSchema)]
pub struct InvitedView {
    /// The account.
    #[serde(flatten)]
    pub account: AccountView,
    /// Whether the invitation e-mail went out: `sent`, `failed` or `not_configured`.
    pub mail: dotmac_identity::mail::MailOutcome,
    /// The invitation link, only when no mail server is configured (shown this once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_url: Option<String>,
    /// When the invitation expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /accounts` filters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    /// Only staff or only subscribers.
    pub kind: Option<AccountKind>,
    /// Only this role.
    pub role: Option<Role>,
    /// Only this status.
    pub status: Option<AccountStatus>,
    /// Page size, 1–200.
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(AccountQuery);
