//! Managing accounts: inviting staff and subscribers (by e-mail, with a single-use link),
//! changing a role or status (disabling ends the sessions; the last active tenant admin stays),
//! lifting a lockout, and listing. Every change is audited with its actor.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, Select,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    AccountKind, AccountStatus, LinkPurpose, Role,
    entity::account,
    links,
    mail::Mailer,
    sessions, sign_in,
    wire::{AccountPatch, AccountQuery},
};
use crate::{api::Actor, audit, db::new_id, error::Error, validate};
use dotmac_identity::{mail::MailOutcome, store::lockouts};

/// An account and the invitation link made for it (for the e-mail, or the answer when no mail
/// server is configured).
pub struct Invited {
    /// The account.
    pub account: account::Model,
    /// The link.
    pub link: links::Made,
}

/// Invites a member of staff.
pub async fn invite_staff(
    db: &impl ConnectionTrait,
    actor: &Actor,
    public_url: &str,
    email_address: &str,
    display_name: &str,
    role: Role,
) -> Result<Invited, Error> {
    if !role.is_staff() {
        return Err(Error::invalid(
            "role",
            "staff take a staff role; subscribers are invited from their customer",
        ));
    }
    let email_address = validate::email("email", email_address)?;
    let display_name = validate::text("display_name", display_name, 200)?;
    let account = insert(
        db,
        AccountKind::Staff,
        email_address,
        display_name,
        role,
        None,
        None,
    )
    .await?;
    let link = links::make(db, public_url, &account, LinkPurpose::Invitation).await?;
    let detail = json!({ "email": account.email, "role": role });
    audit::by(db, actor, "account.invited", "account", account.id, detail).await?;
    Ok(Invited { account, link })
}

/// The customer a subscriber's account belongs to; a 404 for any other account.
pub async fn customer_of(db: &impl ConnectionTrait, account: Option<Uuid>) -> Result<Uuid, Error> {
    let customer = match account {
        Some(id) => account::Entity::find_by_id(id)
            .one(db)
            .await?
            .and_then(|a| a.customer_id),
        None => None,
    };
    customer.ok_or(Error::NotFound {
        entity: "subscriber account",
    })
}

/// Invites a customer to the subscriber portal, with a fresh portal id.
pub async fn invite_subscriber(
    db: &impl ConnectionTrait,
    actor: &Actor,
    public_url: &str,
    customer_id: Uuid,
    email_address: Option<&str>,
) -> Result<Invited, Error> {
    let customer = crate::customers::service::find(db, customer_id).await?;
    let exists = account::Entity::find()
        .filter(account::Column::CustomerId.eq(customer_id))
        .count(db)
        .await?;
    if exists > 0 {
        return Err(Error::conflict(
            None,
            "this customer already has a portal account",
        ));
    }
    let email_address = validate::email("email", email_address.unwrap_or(&customer.email))?;
    let portal_id = free_portal_id(db).await?;
    let account = insert(
        db,
        AccountKind::Subscriber,
        email_address,
        customer.display_name.clone(),
        Role::Subscriber,
        Some(customer_id),
        Some(portal_id),
    )
    .await?;
    let link = links::make(db, public_url, &account, LinkPurpose::Invitation).await?;
    let detail = json!({ "email": account.email, "customer_id": customer_id, "portal_id": account.portal_id });
    audit::by(db, actor, "account.invited", "account", account.id, detail).await?;
    Ok(Invited { account, link })
}

/// Makes a new invitation link for an account not yet active (the old one stops working).
pub async fn reinvite(
    db: &impl ConnectionTrait,
    actor: &Actor,
    public_url: &str,
    id: Uuid,
) -> Result<Invited, Error> {
    let account = find(db, id).await?;
    if account.status != AccountStatus::Invited {
        return Err(Error::conflict(
            Some("status"),
            "only an invited account can be invited again",
        ));
    }
    let link = links::make(db, public_url, &account, LinkPurpose::Invitation).await?;
    audit::by(db, actor, "account.reinvited", "account", id, json!({})).await?;
    Ok(Invited { account, link })
}

/// Sends the invitation e-mail, when a mailer is configured.
pub async fn send_invitation(
    mailer: Option<&Mailer>,
    tenant: &str,
    invited: &Invited,
) -> MailOutcome {
    let Some(mailer) = mailer else {
        return MailOutcome::NotConfigured;
    };
    let portal = match &invited.account.portal_id {
        Some(id) => format!("Your portal id is {id}.\n\n"),
        None => String::new(),
    };
    let body = format!(
        "Hello {},\n\nYou have been invited to {tenant}. {portal}Choose your password here:\n\n{}\n\nThe link works once, until {}.\n",
        invited.account.display_name,
        invited.link.url,
        invited.link.expires_at.format("%Y-%m-%d %H:%M UTC"),
    );
    match mailer
        .send(
            &invited.account.email,
            &format!("Your {tenant} account"),
            body,
        )
        .await
    {
        Ok(()) => MailOutcome::Sent,
        Err(error) => {
            tracing::warn!(%tenant, account = %invited.account.id, %error, "invitation e-mail not sent");
            MailOutcome::Failed
        }
    }
}

/// Changes an account's name, role or status.
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    patch: AccountPatch,
) -> Result<account::Model, Error> {
    let account = find(db, id).await?;
    let before = (account.role, account.status);
    let mut active = account.clone().into_active_model();
    if let Some(display_name) = &patch.display_name {
        active.display_name = Set(validate::text("display_name", display_name, 200)?);
    }
    if let Some(role) = patch.role {
        if account.kind == AccountKind::Subscriber || !role.is_staff() {
            return Err(Error::invalid(
                "role",
                "only staff roles, and only for staff",
            ));
        }
        active.role = Set(role);
    }
    if let Some(status) = patch.status {
        match (account.status, status) {
            (_, AccountStatus::Invited) => {
                return Err(Error::invalid("status", "must be active or disabled"));
            }
            (AccountStatus::Invited, AccountStatus::Active) => {
                return Err(Error::conflict(
                    Some("status"),
                    "an invited account becomes active when it accepts its invitation",
                ));
            }
            _ => active.status = Set(status),
        }
    }
    let role = patch.role.unwrap_or(account.role);
    let status = patch.status.unwrap_or(account.status);
    if before.0 == Role::TenantAdmin
        && before.1 == AccountStatus::Active
        && (role != Role::TenantAdmin || status != AccountStatus::Active)
        && active_admins(db).await? <= 1
    {
        return Err(Error::conflict(
            Some(if role == Role::TenantAdmin {
                "status"
            } else {
                "role"
            }),
            "this is the last active tenant admin; make another first",
        ));
    }
    active.updated_at = Set(Utc::now());
    let updated = active.update(db).await?;
    if role != before.0 {
        let detail = json!({ "from": before.0, "to": role });
        audit::by(db, actor, "account.role_changed", "account", id, detail).await?;
    }
    if status != before.1 {
        let ended = if status == AccountStatus::Disabled {
            sessions::revoke_all(db, id, None).await?
        } else {
            0
        };
        let detail = json!({ "from": before.1, "to": status, "sessions_ended": ended });
        audit::by(db, actor, "account.status_changed", "account", id, detail).await?;
    }
    if patch.display_name.is_some() {
        audit::by(db, actor, "account.renamed", "account", id, json!({})).await?;
    }
    Ok(updated)
}

/// Lifts the lockout of an account's sign-in names (its e-mail and portal id).
pub async fn unlock(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<(), Error> {
    let account = find(db, id).await?;
    let now = Utc::now();
    let mut subjects = vec![sign_in::account_subject(&account.email)];
    if let Some(portal_id) = &account.portal_id {
        subjects.push(sign_in::account_subject(portal_id));
    }
    let mut was_locked = false;
    for subject in &subjects {
        was_locked |= lockouts::lift(db, subject, now).await?;
    }
    let detail = json!({ "was_locked": was_locked });
    audit::by(db, actor, "sign_in.unlocked", "account", id, detail).await?;
    Ok(())
}

/// Lifts the lockout of a source address (an office behind one address, say). `address` must
/// be an IP address, as the lockout counts them.
pub async fn unlock_address(
    db: &impl ConnectionTrait,
    actor: &Actor,
    address: &str,
) -> Result<(), Error> {
    let address: std::net::IpAddr = address
        .trim()
        .parse()
        .map_err(|_| Error::invalid("address", "must be an IPv4 or IPv6 address"))?;
    let subject = lockouts::address_subject(&address.to_string());
    let was_locked = lockouts::lift(db, &subject, Utc::now()).await?;
    let detail = json!({ "address": address, "was_locked": was_locked });
    let (source, name) = (actor.source.as_str(), actor.name.as_str());
    audit::append(
        db,
        name,
        Some(source),
        "sign_in.unlocked",
        "address",
        &address.to_string(),
        detail,
    )
    .await?;
    Ok(())
}

/// Ends every session of an account.
pub async fn end_sessions(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> Result<u64, Error> {
    find(db, id).await?;
    let ended = sessions::revoke_all(db, id, None).await?;
    let detail = json!({ "sessions_ended": ended });
    audit::by(db, actor, "account.sessions_ended", "account", id, detail).await?;
    Ok(ended)
}

/// The account `id`.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<account::Model, Error> {
    account::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound { entity: "account" })
}

/// The accounts `query` selects (before paging).
pub fn select(query: &AccountQuery) -> Select<account::Entity> {
    let mut select = account::Entity::find();
    if let Some(kind) = query.kind {
        select = select.filter(account::Column::Kind.eq(kind));
    }
    if let Some(role) = query.role {
        select = select.filter(account::Column::Role.eq(role));
    }
    if let Some(status) = query.status {
        select = select.filter(account::Column::Status.eq(status));
    }
    select
}

/// Makes the first tenant admin of an empty instance (`dotmac-isp admin invite`): invited like
/// any other, by whoever runs the command.
pub async fn bootstrap(
    db: &impl ConnectionTrait,
    public_url: &str,
    email_address: &str,
    display_name: &str,
) -> Result<Invited, Error> {
    let actor = Actor {
        credential: Uuid::nil(),
        account: None,
        session: None,
        name: "dotmac-isp admin".into(),
        role: Role::TenantAdmin,
        second_factor: false,
        source: "command line".into(),
    };
    invite_staff(
        db,
        &actor,
        public_url,
        email_address,
        display_name,
        Role::TenantAdmin,
    )
    .await
}

async fn active_admins(db: &impl ConnectionTrait) -> Result<u64, Error> {
    Ok(account::Entity::find()
        .filter(account::Column::Role.eq(Role::TenantAdmin))
        .filter(account::Column::Status.eq(AccountStatus::Active))
        .count(db)
        .await?)
}

async fn insert(
    db: &impl ConnectionTrait,
    kind: AccountKind,
    email_address: String,
    display_name: String,
    role: Role,
    customer_id: Option<Uuid>,
    portal_id: Option<String>,
) -> Result<account::Model, Error> {
    let now = Utc::now();
    account::ActiveModel {
        id: Set(new_id()),
        kind: Set(kind),
        email: Set(email_address),
        display_name: Set(display_name),
        role: Set(role),
        customer_id: Set(customer_id),
        portal_id: Set(portal_id),
        status: Set(AccountStatus::Invited),
        password_hash: Set(None),
        password_changed_at: Set(None),
        totp_secret: Set(None),
        totp_pending: Set(None),
        totp_last_step: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| Error::unique_as_conflict(e, "email", "an account with this e-mail exists"))
}

/// A portal id no account has (up to 100 tries, as the prototype's generator).
async fn free_portal_id(db: &impl ConnectionTrait) -> Result<String, Error> {
    for _ in 0..100 {
        let id =
            dotmac_identity::portal_id::generate().map_err(|e| Error::Internal(e.to_string()))?;
        let taken = account::Entity::find()
            .filter(account::Column::PortalId.eq(&id))
            .count(db)
            .await?;
        if taken == 0 {
            return Ok(id);
        }
    }
    Err(Error::Internal("no free portal id after 100 tries".into()))
}
