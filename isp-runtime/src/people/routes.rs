//! Sign-in (`/sign-in`, `/sign-out`, `/password-resets`, `/invitations/accept`), self-service
//! (`/me…`) and people (`/accounts…`, `/customers/{id}/portal-account`). Each handler reads its
//! input, calls the service in one transaction, and answers.

use aide::axum::{
    ApiRouter,
    routing::{get_with, post_with},
};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
    http::{HeaderMap, header},
    response::NoContent,
};
use dotmac_web::response::WithCookies;
use dotmac_web::{Acknowledged, Created};
use serde_json::json;

use super::{
    Permission as P, SessionKind, accounts,
    entity::{account, session},
    links, me, sessions, sign_in, two_factor,
    wire::{
        AccountPatch, AccountQuery, AccountView, AddressUnlock, Code, EnrolmentView, InstanceView,
        InvitedView, LinkUse, MeView, NewStaff, NewSubscriber, PasswordChange, Reauthenticate,
        RecoveryCodesView, ResetRequest, SessionView, SignIn, SignedInView,
    },
};
use crate::{
    api::{
        Actor, AppState, Paged, Source,
        access::doc,
        extract::{Body, Id, Params},
        page,
    },
    audit,
    error::{Error, Result},
    people::LinkPurpose,
};

async fn sign_in(
    State(state): State<AppState>,
    Extension(Source(source)): Extension<Source>,
    headers: HeaderMap,
    Body(input): Body<SignIn>,
) -> Result<WithCookies<SignedInView>> {
    let kind = input.session.unwrap_or(SessionKind::Cookie);
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let attempt = sign_in::Attempt {
        login: &input.login,
        password: &input.password,
        totp: input.totp.as_deref(),
        recovery_code: input.recovery_code.as_deref(),
        source: &source,
    };
    let signed = match sign_in::attempt(&txn, &attempt).await {
        Ok(signed) => signed,
        // A refusal is recorded (failures count towards a lock), so it commits.
        Err(refusal @ (Error::Unauthorized { .. } | Error::Locked { .. })) => {
            txn.commit().await?;
            return Err(refusal);
        }
        Err(other) => return Err(other),
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
        &state.settings.tenant,
        &signed.account,
        kind,
        signed.second_factor,
        &origin,
    )
    .await
    .map_err(|e| match e {
        sessions::OpenError::Db(db) => Error::Db(db),
        sessions::OpenError::Random(r) => Error::Internal(r.to_string()),
    })?;
    txn.commit().await?;
    let cookies = match kind {
        SessionKind::Cookie => sessions::COOKIES.set(&opened, secure(&state)),
        SessionKind::Bearer => Vec::new(),
    };
    let current = Some(opened.session.id);
    let view = SignedInView {
        account: MeView::new(signed.account, signed.second_factor, instance(&state)),
        session: SessionView::new(opened.session, current),
        token: (kind == SessionKind::Bearer).then_some(opened.token),
        csrf_token: opened.csrf,
    };
    Ok(WithCookies(cookies, Json(view)))
}

fn secure(state: &AppState) -> bool {
    state.settings.public_url.starts_with("https://")
}

/// What `POST /sign-out` ended.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct SignedOut {
    /// Whether a session was ended.
    pub ended: bool,
}

async fn sign_out(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<WithCookies<SignedOut>> {
    let (Some(account), Some(session)) = (actor.account, actor.session) else {
        return Err(Error::Forbidden(
            "an API token is revoked at /tokens, not signed out".into(),
        ));
    };
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let ended = sessions::revoke(&txn, account, session).await?;
    audit::by(
        &txn,
        &actor,
        "session.signed_out",
        "session",
        session,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    state.forget_sessions(account).await?;
    Ok(WithCookies(
        sessions::COOKIES.clear(),
        Json(SignedOut { ended }),
    ))
}

async fn request_reset(
    State(state): State<AppState>,
    Extension(Source(source)): Extension<Source>,
    Body(input): Body<ResetRequest>,
) -> Result<Acknowledged> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let made = me::reset_link(&txn, &state.settings.public_url, &input.login, &source).await?;
    txn.commit().await?;
    if let (Some((account, link)), Some(mailer)) = (made, state.mailer.clone()) {
        let tenant = state.settings.tenant.clone();
        tokio::spawn(async move { me::send_reset(&mailer, &tenant, &account, &link).await });
    }
    Ok(Acknowledged)
}

async fn use_link(
    state: &AppState,
    source: &str,
    input: LinkUse,
    purpose: LinkPurpose,
) -> Result<NoContent> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let (link, account) = links::find(&txn, &input.token, purpose).await?;
    let hash = super::new_password_hash(
        "new_password",
        &input.new_password,
        &[
            &account.email,
            &account.display_name,
            &state.settings.tenant,
        ],
    )
    .await?;
    let account = links::redeem(&txn, link, account, hash, source).await?;
    txn.commit().await?;
    state.forget_sessions(account.id).await?;
    Ok(NoContent)
}

async fn complete_reset(
    State(state): State<AppState>,
    Extension(Source(source)): Extension<Source>,
    Body(input): Body<LinkUse>,
) -> Result<NoContent> {
    use_link(&state, &source, input, LinkPurpose::PasswordReset).await
}

async fn accept_invitation(
    State(state): State<AppState>,
    Extension(Source(source)): Extension<Source>,
    Body(input): Body<LinkUse>,
) -> Result<NoContent> {
    use_link(&state, &source, input, LinkPurpose::Invitation).await
}

async fn get_me(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<MeView>> {
    let account = me::account(&state.db, &actor).await?;
    Ok(Json(MeView::new(
        account,
        actor.second_factor,
        instance(&state),
    )))
}

/// The instance's currency and business time zone.
fn instance(state: &AppState) -> InstanceView {
    InstanceView {
        currency: state.settings.currency.clone(),
        time_zone: state.schedule.zone_name.clone(),
    }
}

async fn my_sessions(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<SessionView>>> {
    let account = me::account(&state.db, &actor).await?;
    let list = sessions::list(&state.db, account.id, chrono::Utc::now()).await?;
    Ok(Json(
        list.into_iter()
            .map(|s| SessionView::new(s, actor.session))
            .collect(),
    ))
}

async fn end_my_session(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<NoContent> {
    let account = me::account(&state.db, &actor).await?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    if !sessions::revoke(&txn, account.id, id).await? {
        return Err(Error::NotFound {
            entity: "live session",
        });
    }
    audit::by(&txn, &actor, "session.revoked", "session", id, json!({})).await?;
    txn.commit().await?;
    state.forget_sessions(account.id).await?;
    Ok(NoContent)
}

async fn change_password(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<PasswordChange>,
) -> Result<NoContent> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    me::change_password(&txn, &actor, &input.current_password, &input.new_password).await?;
    txn.commit().await?;
    if let Some(account) = actor.account {
        state.forget_sessions(account).await?;
    }
    Ok(NoContent)
}

async fn start_two_factor(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<Reauthenticate>,
) -> Result<Json<EnrolmentView>> {
    let account = me::account(&state.db, &actor).await?;
    me::reauthenticate(&account, &input.password, "password").await?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let id = account.id;
    let enrolment = two_factor::start(&txn, &state.settings.tenant, account).await?;
    audit::by(
        &txn,
        &actor,
        "two_factor.enrolment_started",
        "account",
        id,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(EnrolmentView {
        secret: enrolment.secret,
        uri: enrolment.uri,
    }))
}

async fn confirm_two_factor(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<Code>,
) -> Result<Json<RecoveryCodesView>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let account = me::account(&state.db, &actor).await?;
    let account_id = account.id;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let recovery_codes = two_factor::confirm(&txn, &actor, account, &input.code).await?;
    // The code just given is this session's second factor.
    if let Some(session) = actor.session {
        session::Entity::update_many()
            .col_expr(session::Column::SecondFactor, Expr::value(true))
            .filter(session::Column::Id.eq(session))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    state.forget_sessions(account_id).await?;
    Ok(Json(RecoveryCodesView { recovery_codes }))
}

async fn disable_two_factor(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<Reauthenticate>,
) -> Result<NoContent> {
    let account = me::account(&state.db, &actor).await?;
    me::reauthenticate(&account, &input.password, "password").await?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    two_factor::disable(&txn, &actor, account).await?;
    txn.commit().await?;
    Ok(NoContent)
}

async fn replace_recovery_codes(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<Reauthenticate>,
) -> Result<Json<RecoveryCodesView>> {
    let account = me::account(&state.db, &actor).await?;
    me::reauthenticate(&account, &input.password, "password").await?;
    if account.totp_secret.is_none() {
        return Err(Error::conflict(None, "two-factor sign-in is not on"));
    }
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let recovery_codes = two_factor::replace_recovery_codes(&txn, account.id).await?;
    let id = account.id;
    audit::by(
        &txn,
        &actor,
        "two_factor.recovery_codes_replaced",
        "account",
        id,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(RecoveryCodesView { recovery_codes }))
}

async fn invited_view(state: &AppState, invited: accounts::Invited) -> Created<InvitedView> {
    let mail =
        accounts::send_invitation(state.mailer.as_ref(), &state.settings.tenant, &invited).await;
    let location = format!("/api/v1/accounts/{}", invited.account.id);
    Created::new(
        location,
        InvitedView {
            invitation_url: state.mailer.is_none().then_some(invited.link.url),
            expires_at: invited.link.expires_at,
            account: invited.account.into(),
            mail,
        },
    )
}

async fn invite_staff(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewStaff>,
) -> Result<Created<InvitedView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let invited = accounts::invite_staff(
        &txn,
        &actor,
        &state.settings.public_url,
        &input.email,
        &input.display_name,
        input.role,
    )
    .await?;
    txn.commit().await?;
    Ok(invited_view(&state, invited).await)
}

async fn invite_subscriber(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(customer): Id,
    Body(input): Body<NewSubscriber>,
) -> Result<Created<InvitedView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let invited = accounts::invite_subscriber(
        &txn,
        &actor,
        &state.settings.public_url,
        customer,
        input.email.as_deref(),
    )
    .await?;
    txn.commit().await?;
    Ok(invited_view(&state, invited).await)
}

async fn reinvite(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<Created<InvitedView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let invited = accounts::reinvite(&txn, &actor, &state.settings.public_url, id).await?;
    txn.commit().await?;
    Ok(invited_view(&state, invited).await)
}

async fn list_accounts(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<AccountQuery>,
) -> Result<Paged<AccountView>> {
    let select = accounts::select(&query);
    page(&state.db, select, account::Column::Id, &query, &uri).await
}

async fn get_account(State(state): State<AppState>, Id(id): Id) -> Result<Json<AccountView>> {
    Ok(Json(accounts::find(&state.db, id).await?.into()))
}

async fn patch_account(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<AccountPatch>,
) -> Result<Json<AccountView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let updated = accounts::update(&txn, &actor, id, input).await?;
    txn.commit().await?;
    state.forget_sessions(id).await?;
    Ok(Json(updated.into()))
}

async fn unlock(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<NoContent> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    accounts::unlock(&txn, &actor, id).await?;
    txn.commit().await?;
    Ok(NoContent)
}

async fn unlock_address(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<AddressUnlock>,
) -> Result<NoContent> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    accounts::unlock_address(&txn, &actor, &input.address).await?;
    txn.commit().await?;
    Ok(NoContent)
}

async fn end_sessions(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<NoContent> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    accounts::end_sessions(&txn, &actor, id).await?;
    txn.commit().await?;
    state.forget_sessions(id).await?;
    Ok(NoContent)
}

/// The sign-in, self-service and people routes.
pub fn routes() -> ApiRouter<AppState> {
    const SIGN_IN: &str = "sign-in";
    const ME: &str = "me";
    const PEOPLE: &str = "people";
    ApiRouter::new()
        .api_route(
            "/sign-in",
            post_with(
                sign_in,
                doc(
                    SIGN_IN,
                    P::Public,
                    "Sign in: a session cookie, or a bearer token",
                ),
            ),
        )
        .api_route(
            "/sign-out",
            post_with(sign_out, doc(SIGN_IN, P::OwnAccount, "End this session")),
        )
        .api_route(
            "/password-resets",
            post_with(
                request_reset,
                doc(
                    SIGN_IN,
                    P::Public,
                    "E-mail a password-reset link (the answer is the same for any name)",
                ),
            ),
        )
        .api_route(
            "/password-resets/complete",
            post_with(
                complete_reset,
                doc(SIGN_IN, P::Public, "Set a new password with a reset link"),
            ),
        )
        .api_route(
            "/invitations/accept",
            post_with(
                accept_invitation,
                doc(
                    SIGN_IN,
                    P::Public,
                    "Accept an invitation, choosing a password",
                ),
            ),
        )
        .api_route(
            "/me",
            get_with(
                get_me,
                doc(
                    ME,
                    P::OwnAccount,
                    "The signed-in account and its permissions",
                ),
            ),
        )
        .api_route(
            "/me/sessions",
            get_with(my_sessions, doc(ME, P::OwnAccount, "List my live sessions")),
        )
        .api_route(
            "/me/sessions/{id}",
            aide::axum::routing::delete_with(
                end_my_session,
                doc(ME, P::OwnAccount, "End one of my sessions"),
            ),
        )
        .api_route(
            "/me/password",
            post_with(
                change_password,
                doc(
                    ME,
                    P::OwnAccount,
                    "Change my password (ends my other sessions)",
                ),
            ),
        )
        .api_route(
            "/me/two-factor",
            post_with(
                start_two_factor,
                doc(ME, P::OwnAccount, "Start enrolling an authenticator app"),
            ),
        )
        .api_route(
            "/me/two-factor/confirm",
            post_with(
                confirm_two_factor,
                doc(
                    ME,
                    P::OwnAccount,
                    "Confirm enrolment with a first code; get recovery codes",
                ),
            ),
        )
        .api_route(
            "/me/two-factor/disable",
            post_with(
                disable_two_factor,
                doc(
                    ME,
                    P::OwnAccount,
                    "Turn two-factor sign-in off (where the role allows)",
                ),
            ),
        )
        .api_route(
            "/me/recovery-codes",
            post_with(
                replace_recovery_codes,
                doc(ME, P::OwnAccount, "Replace my recovery codes"),
            ),
        )
        .api_route(
            "/accounts",
            get_with(
                list_accounts,
                doc(PEOPLE, P::PeopleRead, "List staff and subscriber accounts"),
            )
            .post_with(
                invite_staff,
                doc(
                    PEOPLE,
                    P::PeopleManage,
                    "Invite a member of staff by e-mail",
                ),
            ),
        )
        .api_route(
            "/accounts/{id}",
            get_with(get_account, doc(PEOPLE, P::PeopleRead, "Read an account")).patch_with(
                patch_account,
                doc(
                    PEOPLE,
                    P::PeopleManage,
                    "Change an account's name, role or status",
                ),
            ),
        )
        .api_route(
            "/accounts/{id}/unlock",
            post_with(
                unlock,
                doc(PEOPLE, P::PeopleManage, "Lift an account's sign-in lockout"),
            ),
        )
        .api_route(
            "/lockouts/lift",
            post_with(
                unlock_address,
                doc(
                    PEOPLE,
                    P::PeopleManage,
                    "Lift a source address's sign-in lockout",
                ),
            ),
        )
        .api_route(
            "/accounts/{id}/sessions/revoke",
            post_with(
                end_sessions,
                doc(PEOPLE, P::PeopleManage, "End every session of an account"),
            ),
        )
        .api_route(
            "/accounts/{id}/invitation",
            post_with(
                reinvite,
                doc(
                    PEOPLE,
                    P::PeopleManage,
                    "Send a new invitation (the old link stops working)",
                ),
            ),
        )
        .api_route(
            "/customers/{id}/portal-account",
            post_with(
                invite_subscriber,
                doc(
                    PEOPLE,
                    P::PeopleManage,
                    "Invite a customer to the subscriber portal",
                ),
            ),
        )
}
