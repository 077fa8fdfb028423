//! The people routes: signing in and out, accepting an invitation, one's own account (password,
//! sessions, two-factor), and managing users and lockouts.

use aide::axum::{
    ApiRouter,
    routing::{delete_with, get_with, post_with},
};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
    http::{HeaderMap, header},
    response::{IntoResponse, NoContent, Response},
};
use chrono::{DateTime, Utc};
use dotmac_identity::{
    mail::MailOutcome,
    store::{
        entity::{LinkPurpose, SessionKind, session},
        passwords, sessions,
    },
};
use dotmac_web::{
    Acknowledged, Created,
    extract::{Body, Id, Params},
    page::{Page, Paged},
    problem::Problem,
    response::WithCookies,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    UserRole, UserStatus,
    entity::user,
    links,
    sign_in::{self, Refused},
    two_factor, users,
};
use crate::{
    AppState, Caller, NamePage, Source,
    access::{COOKIES, Callers as C, Person, SESSION_PREFIX, doc},
    audit, db_error, page_limit,
    tokens::Principal,
};

/// `POST /sign-in`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignIn {
    /// The user's e-mail.
    pub email: String,
    /// Their password.
    pub password: String,
    /// A code from their authenticator app, when they have two-factor sign-in.
    pub totp: Option<String>,
    /// Or one of their recovery codes.
    pub recovery_code: Option<String>,
    /// `cookie` (the portals; the default) or `bearer` (an API client; the token is returned).
    pub session: Option<SessionKind>,
}

/// A user as the API shows them.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// User id.
    pub id: Uuid,
    /// E-mail.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// `admin` or `reseller`.
    pub role: UserRole,
    /// The reseller of a reseller user.
    pub reseller: Option<String>,
    /// `invited`, `active` or `disabled`.
    pub status: UserStatus,
    /// Whether they sign in with a second factor.
    pub two_factor: bool,
    /// When they were invited.
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for UserView {
    fn from(u: user::Model) -> Self {
        Self {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            role: u.role,
            reseller: u.reseller,
            status: u.status,
            two_factor: u.totp_secret.is_some(),
            created_at: u.created_at,
        }
    }
}

/// A session as its owner sees it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// Session id.
    pub id: Uuid,
    /// `cookie` or `bearer`.
    pub kind: SessionKind,
    /// Where it was opened from.
    pub source: String,
    /// The browser or client.
    pub user_agent: Option<String>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last used.
    pub last_seen_at: DateTime<Utc>,
    /// Ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// Whether it is the one making this request.
    pub current: bool,
}

impl SessionView {
    fn new(s: session::Model, current: Option<Uuid>) -> Self {
        Self {
            current: current == Some(s.id),
            id: s.id,
            kind: s.kind,
            source: s.source,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
        }
    }
}

/// A sign-in's answer.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedInView {
    /// The user.
    pub user: UserView,
    /// Whether a second factor was given.
    pub second_factor: bool,
    /// Whether the user must enrol an authenticator app before anything else (an admin
    /// without one).
    pub enrolment_required: bool,
    /// The session.
    pub session: SessionView,
    /// The bearer token, for a bearer session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The CSRF token to send in `X-CSRF-Token` with each write, for a cookie session (also in
    /// the `dotmac_platform_csrf` cookie).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    Extension(Source(source)): Extension<Source>,
    headers: HeaderMap,
    Body(input): Body<SignIn>,
) -> Result<WithCookies<SignedInView>, Response> {
    let kind = input.session.unwrap_or(SessionKind::Cookie);
    let txn = dotmac_sql::begin_write(&state.db)
        .await
        .map_err(|e| db_error(e).into_response())?;
    let attempt = sign_in::Attempt {
        login: &input.email,
        password: &input.password,
        totp: input.totp.as_deref(),
        recovery_code: input.recovery_code.as_deref(),
        source: &source,
    };
    let signed = match sign_in::attempt(&txn, &attempt).await {
        Ok(signed) => signed,
        // A refusal is recorded (failures count towards a lock), so it commits.
        Err(
            refused @ (Refused::Wrong
            | Refused::Locked(_)
            | Refused::SecondFactorMissing
            | Refused::SecondFactorWrong),
        ) => {
            txn.commit()
                .await
                .map_err(|e| db_error(e).into_response())?;
            return Err(refused.into_response());
        }
        Err(other) => return Err(other.into_response()),
    };
    let origin = sessions::Origin {
        source,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(300).collect()),
    };
    let opened = sessions::open(
        &txn,
        SESSION_PREFIX,
        signed.user.id,
        kind,
        signed.second_factor,
        &origin,
    )
    .await
    .map_err(|error| match error {
        sessions::OpenError::Db(error) => db_error(error).into_response(),
        sessions::OpenError::Random(error) => {
            tracing::error!(%error, "no randomness for a session");
            Problem::internal().into_response()
        }
    })?;
    txn.commit()
        .await
        .map_err(|e| db_error(e).into_response())?;
    let cookies = match kind {
        SessionKind::Cookie => COOKIES.set(&opened, state.secure()),
        SessionKind::Bearer => Vec::new(),
    };
    let enrolment_required = signed.user.role == UserRole::Admin && !signed.second_factor;
    let current = Some(opened.session.id);
    Ok(WithCookies(
        cookies,
        Json(SignedInView {
            user: signed.user.into(),
            second_factor: signed.second_factor,
            enrolment_required,
            session: SessionView::new(opened.session, current),
            token: (kind == SessionKind::Bearer).then_some(opened.token),
            csrf_token: opened.csrf,
        }),
    ))
}

/// What `POST /sign-out` ended.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SignedOut {
    /// Whether a session was ended.
    pub ended: bool,
}

async fn sign_out(
    State(state): State<AppState>,
    Extension(person): Extension<Person>,
    Extension(caller): Extension<Caller>,
) -> Result<WithCookies<SignedOut>, Problem> {
    let ended = sessions::revoke(&state.db, person.user, person.session)
        .await
        .map_err(db_error)?;
    let detail = json!({ "user": person.user, "session": person.session });
    audit::record(
        &state.db,
        &caller,
        "session.signed_out",
        audit::Concerns::default(),
        detail,
    )
    .await;
    Ok(WithCookies(COOKIES.clear(), Json(SignedOut { ended })))
}

/// `POST /invitations/accept` and `POST /password-resets/complete`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkUse {
    /// The token from the link's `#token=` fragment (or the invitation handed over).
    pub token: String,
    /// The password to set: 12 to 128 characters, not a common or personal one.
    pub new_password: String,
}

async fn accept(
    State(state): State<AppState>,
    Extension(Source(source)): Extension<Source>,
    Body(input): Body<LinkUse>,
) -> Result<Json<UserView>, Problem> {
    use_link(&state, &source, &input, LinkPurpose::Invitation)
        .await
        .map(|user| Json(user.into()))
}

/// Sets the password of the link `input.token` is, for `purpose`.
async fn use_link(
    state: &AppState,
    source: &str,
    input: &LinkUse,
    purpose: LinkPurpose,
) -> Result<user::Model, Problem> {
    let (link, user) = links::find(&state.db, &input.token, purpose).await?;
    let hash = new_hash("newPassword", &input.new_password, &user).await?;
    let txn = dotmac_sql::begin_write(&state.db).await.map_err(db_error)?;
    let user = links::redeem(&txn, link, user, hash, source).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(user)
}

/// `POST /password-resets`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The e-mail the user signs in with.
    pub email: String,
}

async fn request_reset(
    State(state): State<AppState>,
    Extension(Source(source)): Extension<Source>,
    Body(input): Body<ResetRequest>,
) -> Result<Acknowledged, Problem> {
    let email = dotmac_identity::email::normalize(&input.email)
        .ok_or_else(|| Problem::invalid("email", "is not an e-mail address"))?;
    // The same answer whoever asks, and with no mail server too: it says nothing of who has an
    // account here.
    let Some(mailer) = state.mailer.clone() else {
        tracing::warn!("a password reset was asked for, but the API has no mail server");
        return Ok(Acknowledged);
    };
    let txn = dotmac_sql::begin_write(&state.db).await.map_err(db_error)?;
    let made = links::reset_link(&txn, &email, &source).await?;
    txn.commit().await.map_err(db_error)?;
    if let Some((user, made)) = made {
        let url = links::url(&state.public_url, LinkPurpose::PasswordReset, &made.token);
        tokio::spawn(async move { links::send_reset(&mailer, &user, &url).await });
    }
    Ok(Acknowledged)
}

async fn complete_reset(
    State(state): State<AppState>,
    Extension(Source(source)): Extension<Source>,
    Body(input): Body<LinkUse>,
) -> Result<NoContent, Problem> {
    use_link(&state, &source, &input, LinkPurpose::PasswordReset).await?;
    Ok(NoContent)
}

/// Hashes a new password of `user` after checking it against the policy; `field` names it.
async fn new_hash(
    field: &str,
    password: &str,
    user: &user::Model,
) -> Result<dotmac_identity::store::Sealed, Problem> {
    use dotmac_identity::store::passwords::SetError;
    passwords::new_hash(password, &[&user.email, &user.display_name, "dotmac"])
        .await
        .map_err(|error| match error {
            SetError::Weak(weakness) => Problem::invalid(field, weakness.to_string()),
            other => {
                tracing::error!(error = %other, "a password could not be hashed");
                Problem::internal()
            }
        })
}

/// The signed-in user.
async fn me_user(state: &AppState, person: &Person) -> Result<user::Model, Problem> {
    users::find(&state.db, person.user)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Problem::unauthorized("the session has ended; sign in again"))
}

async fn me(
    State(state): State<AppState>,
    Extension(person): Extension<Person>,
) -> Result<Json<UserView>, Problem> {
    me_user(&state, &person).await.map(|u| Json(u.into()))
}

/// `POST /me/password`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new one (12–128 characters, not a common one).
    pub new_password: String,
}

/// How many other sessions a change ended.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionsEnded {
    /// Sessions ended.
    pub sessions_ended: u64,
}

async fn change_password(
    State(state): State<AppState>,
    Extension(person): Extension<Person>,
    Extension(caller): Extension<Caller>,
    Body(input): Body<PasswordChange>,
) -> Result<Json<SessionsEnded>, Problem> {
    let user = me_user(&state, &person).await?;
    if !passwords::matches(&input.current_password, user.password_hash.as_ref()).await {
        return Err(Problem::invalid(
            "currentPassword",
            "is not the user's password",
        ));
    }
    let hash = new_hash("newPassword", &input.new_password, &user).await?;
    let txn = dotmac_sql::begin_write(&state.db).await.map_err(db_error)?;
    let now = Utc::now();
    let mut active = user.into_active_model();
    active.password_hash = Set(Some(hash));
    active.password_changed_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(&txn).await.map_err(db_error)?;
    let ended = sessions::revoke_all(&txn, person.user, Some(person.session))
        .await
        .map_err(db_error)?;
    let detail = json!({ "user": person.user, "sessions_ended": ended });
    audit::record(
        &txn,
        &caller,
        "password.changed",
        audit::Concerns::default(),
        detail,
    )
    .await;
    txn.commit().await.map_err(db_error)?;
    Ok(Json(SessionsEnded {
        sessions_ended: ended,
    }))
}

async fn my_sessions(
    State(state): State<AppState>,
    Extension(person): Extension<Person>,
) -> Result<Json<Vec<SessionView>>, Problem> {
    let rows = sessions::list(&state.db, person.user, Utc::now())
        .await
        .map_err(db_error)?;
    Ok(Json(
        rows.into_iter()
            .map(|s| SessionView::new(s, Some(person.session)))
            .collect(),
    ))
}

async fn end_session(
    State(state): State<AppState>,
    Extension(person): Extension<Person>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
) -> Result<NoContent, Problem> {
    if !sessions::revoke(&state.db, person.user, id)
        .await
        .map_err(db_error)?
    {
        return Err(Problem::not_found("no such live session"));
    }
    let detail = json!({ "user": person.user, "session": id });
    audit::record(
        &state.db,
        &caller,
        "session.revoked",
        audit::Concerns::default(),
        detail,
    )
    .await;
    Ok(NoContent)
}

/// A secret being enrolled, shown once.
#[derive(Serialize, schemars::JsonSchema)]
pub struct EnrolmentView {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI, for a QR code.
    pub uri: String,
}

async fn start_two_factor(
    State(state): State<AppState>,
    Extension(person): Extension<Person>,
) -> Result<Json<EnrolmentView>, Problem> {
    let user = me_user(&state, &person).await?;
    let enrolment = two_factor::start(&state.db, user).await?;
    Ok(Json(EnrolmentView {
        secret: enrolment.secret,
        uri: enrolment.uri,
    }))
}

/// `POST /me/two-factor/confirm`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// A code from the new secret.
    pub code: String,
}

/// Recovery codes, shown once.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodesView {
    /// Single-use codes for when the authenticator is lost.
    pub recovery_codes: Vec<String>,
}

async fn confirm_two_factor(
    State(state): State<AppState>,
    Extension(person): Extension<Person>,
    Extension(caller): Extension<Caller>,
    Body(input): Body<Confirm>,
) -> Result<Json<RecoveryCodesView>, Problem> {
    let user = me_user(&state, &person).await?;
    let txn = dotmac_sql::begin_write(&state.db).await.map_err(db_error)?;
    let recovery_codes = two_factor::confirm(&txn, &caller, user, input.code.trim()).await?;
    // This session has now given its second factor; the others sign in again with one.
    sessions::revoke_all(&txn, person.user, Some(person.session))
        .await
        .map_err(db_error)?;
    mark_second_factor(&txn, person.session).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(Json(RecoveryCodesView { recovery_codes }))
}

/// Notes on a session that its second factor was given (by enrolling one).
async fn mark_second_factor(db: &impl sea_orm::ConnectionTrait, id: Uuid) -> Result<(), Problem> {
    use sea_orm::EntityTrait;
    session::Entity::update(session::ActiveModel {
        id: Set(id),
        second_factor: Set(true),
        ..Default::default()
    })
    .exec(db)
    .await
    .map(|_| ())
    .map_err(db_error)
}

async fn disable_two_factor(
    State(state): State<AppState>,
    Extension(person): Extension<Person>,
    Extension(caller): Extension<Caller>,
) -> Result<NoContent, Problem> {
    let user = me_user(&state, &person).await?;
    two_factor::disable(&state.db, &caller, user).await?;
    Ok(NoContent)
}

/// `POST /users`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    /// Their e-mail, what they sign in with.
    pub email: String,
    /// Their name (1–200 characters).
    pub display_name: String,
    /// `admin` or `reseller`.
    pub role: UserRole,
    /// The Reseller of a reseller user (a reseller's own: itself).
    pub reseller: Option<String>,
}

/// An invitation, shown once when no mail server sent it: hand it to the invitee, who accepts
/// it with a password.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    /// The token for `POST /invitations/accept`.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A user just invited.
#[derive(Serialize, schemars::JsonSchema)]
pub struct InvitedView {
    /// The user.
    pub user: UserView,
    /// Whether the invitation went by e-mail.
    pub mail: MailOutcome,
    /// The invitation, only when no mail server is configured (shown this once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation: Option<InvitationView>,
}

async fn invite(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    Body(input): Body<NewUser>,
) -> Result<Created<InvitedView>, Problem> {
    let new = users::NewUser {
        email: &input.email,
        display_name: &input.display_name,
        role: input.role,
        reseller: input.reseller.as_deref(),
    };
    let txn = dotmac_sql::begin_write(&state.db).await.map_err(db_error)?;
    let (user, link) = users::invite(&txn, &caller, &principal, new).await?;
    txn.commit().await.map_err(db_error)?;
    let (mail, invitation) = match &state.mailer {
        Some(mailer) => {
            let url = links::url(&state.public_url, LinkPurpose::Invitation, &link.token);
            (links::send_invitation(mailer, &user, &url).await, None)
        }
        None => (
            MailOutcome::NotConfigured,
            Some(InvitationView {
                token: link.token,
                expires_at: link.expires_at,
            }),
        ),
    };
    Ok(Created::new(
        format!("/api/v1/users/{}", user.id),
        InvitedView {
            user: user.into(),
            mail,
            invitation,
        },
    ))
}

async fn list_users(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<NamePage>,
) -> Result<Paged<UserView, String>, Problem> {
    let limit = page_limit(query.limit)?;
    let rows = users::list(&state.db, &principal, query.cursor.as_deref(), limit + 1).await?;
    let items = rows.into_iter().map(UserView::from).collect();
    Ok(Page::new(items, limit, |u: &UserView| u.email.clone()).respond(&uri))
}

async fn get_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Id(id): Id,
) -> Result<Json<UserView>, Problem> {
    users::managed(&state.db, &principal, id)
        .await
        .map(|u| Json(u.into()))
}

/// `PATCH /users/{id}`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// `active` or `disabled` (which ends their sessions).
    pub status: UserStatus,
}

async fn patch_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    person: Option<Extension<Person>>,
    Id(id): Id,
    Body(input): Body<UserPatch>,
) -> Result<Json<UserView>, Problem> {
    let me = person.map(|Extension(p)| p.user);
    let txn = dotmac_sql::begin_write(&state.db).await.map_err(db_error)?;
    let user = users::set_status(&txn, &caller, &principal, id, input.status, me).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(Json(user.into()))
}

async fn unlock_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
) -> Result<NoContent, Problem> {
    users::unlock(&state.db, &caller, &principal, id).await?;
    Ok(NoContent)
}

/// `POST /lockouts/lift`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftAddress {
    /// The source address whose lock to lift (IPv4 or IPv6).
    pub address: String,
}

async fn lift_address(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Body(input): Body<LiftAddress>,
) -> Result<NoContent, Problem> {
    users::unlock_address(&state.db, &caller, &input.address).await?;
    Ok(NoContent)
}

/// The people routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "people";
    ApiRouter::new()
        .api_route(
            "/sign-in",
            post_with(
                sign_in,
                doc(
                    TAG,
                    C::Public,
                    "Sign in: a session cookie, or a bearer token",
                ),
            ),
        )
        .api_route(
            "/sign-out",
            post_with(sign_out, doc(TAG, C::SignedIn, "End this session")),
        )
        .api_route(
            "/invitations/accept",
            post_with(
                accept,
                doc(TAG, C::Public, "Accept an invitation with a password"),
            ),
        )
        .api_route(
            "/password-resets",
            post_with(
                request_reset,
                doc(
                    TAG,
                    C::Public,
                    "Ask for a password reset link by e-mail (202 whoever asks, sent with a mail server)",
                ),
            ),
        )
        .api_route(
            "/password-resets/complete",
            post_with(
                complete_reset,
                doc(TAG, C::Public, "Set a new password with a reset link"),
            ),
        )
        .api_route(
            "/me",
            get_with(me, doc(TAG, C::SignedIn, "The signed-in user")),
        )
        .api_route(
            "/me/password",
            post_with(
                change_password,
                doc(
                    TAG,
                    C::SignedIn,
                    "Change one's password (ends the other sessions)",
                ),
            ),
        )
        .api_route(
            "/me/sessions",
            get_with(my_sessions, doc(TAG, C::SignedIn, "One's live sessions")),
        )
        .api_route(
            "/me/sessions/{id}",
            delete_with(
                end_session,
                doc(TAG, C::SignedIn, "End one of one's sessions"),
            ),
        )
        .api_route(
            "/me/two-factor",
            post_with(
                start_two_factor,
                doc(
                    TAG,
                    C::SignedIn,
                    "Start enrolling an authenticator app (secret shown once)",
                ),
            )
            .delete_with(
                disable_two_factor,
                doc(
                    TAG,
                    C::SignedIn,
                    "Turn two-factor sign-in off (reseller users)",
                ),
            ),
        )
        .api_route(
            "/me/two-factor/confirm",
            post_with(
                confirm_two_factor,
                doc(
                    TAG,
                    C::SignedIn,
                    "Confirm enrolment with a code (recovery codes shown once)",
                ),
            ),
        )
        .api_route(
            "/users",
            get_with(
                list_users,
                doc(TAG, C::People, "List the users the caller manages"),
            )
            .post_with(
                invite,
                doc(
                    TAG,
                    C::People,
                    "Invite a user (the invitation is shown once)",
                ),
            ),
        )
        .api_route(
            "/users/{id}",
            get_with(get_user, doc(TAG, C::People, "Read a user"))
                .patch_with(patch_user, doc(TAG, C::People, "Enable or disable a user")),
        )
        .api_route(
            "/users/{id}/unlock",
            post_with(
                unlock_user,
                doc(TAG, C::People, "Lift the lockout of a user's e-mail"),
            ),
        )
        .api_route(
            "/lockouts/lift",
            post_with(
                lift_address,
                doc(TAG, C::Admins, "Lift the lockout of a source address"),
            ),
        )
}
