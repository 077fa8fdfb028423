//! Managing users: inviting (the invitation's token is returned once, to hand over), listing,
//! disabling (which ends their sessions) and lifting a lockout. An admin manages everyone; a
//! reseller manages its own reseller users, and another reseller's are not found.

use chrono::Utc;
use dotmac_identity::store::{
    entity::LinkPurpose,
    links::{self, MakeError},
    lockouts, sessions,
};
use dotmac_web::problem::Problem;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::{UserRole, UserStatus, entity::user};
use crate::{Caller, audit, db_error, tokens::Principal};

/// A user to invite.
pub struct NewUser<'a> {
    /// Their e-mail, what they sign in with.
    pub email: &'a str,
    /// Their name.
    pub display_name: &'a str,
    /// Their role.
    pub role: UserRole,
    /// The reseller of a reseller user.
    pub reseller: Option<&'a str>,
}

/// The user `id`.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// The user signing in as `email` (normalized).
pub async fn by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await
}

/// Whether `principal` manages `user`.
fn manages(principal: &Principal, user: &user::Model) -> bool {
    match principal {
        Principal::Admin => true,
        Principal::Reseller(own) => user.reseller.as_deref() == Some(own),
        Principal::Tenant(_) => false,
    }
}

/// The user `id` if `principal` manages them; 404 otherwise, so another reseller's users are
/// not even confirmed to exist.
pub async fn managed(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> Result<user::Model, Problem> {
    find(db, id)
        .await
        .map_err(db_error)?
        .filter(|user| manages(principal, user))
        .ok_or_else(|| Problem::not_found("no such user"))
}

/// Up to `limit` users `principal` manages, by e-mail, after the e-mail `after`.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<user::Model>, Problem> {
    let mut select = user::Entity::find().order_by_asc(user::Column::Email);
    if let Principal::Reseller(own) = principal {
        select = select.filter(user::Column::Reseller.eq(own.as_str()));
    }
    if let Some(after) = after {
        select = select.filter(user::Column::Email.gt(after));
    }
    select.limit(limit).all(db).await.map_err(db_error)
}

/// Invites a user; returns them with the invitation.
pub async fn invite(
    db: &impl ConnectionTrait,
    caller: &Caller,
    principal: &Principal,
    new: NewUser<'_>,
) -> Result<(user::Model, links::Made), Problem> {
    let email = dotmac_identity::email::normalize(new.email)
        .ok_or_else(|| Problem::invalid("email", "is not an e-mail address"))?;
    let display_name = new.display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 200 {
        return Err(Problem::invalid("displayName", "must be 1–200 characters"));
    }
    let reseller = match (new.role, new.reseller, principal) {
        (UserRole::Admin, None, Principal::Admin) => None,
        (UserRole::Admin, Some(_), _) => {
            return Err(Problem::invalid(
                "reseller",
                "an admin belongs to no reseller",
            ));
        }
        (UserRole::Admin, None, _) => {
            return Err(Problem::forbidden("only an admin invites admins"));
        }
        (UserRole::Reseller, None, _) => {
            return Err(Problem::invalid(
                "reseller",
                "a reseller user needs its reseller",
            ));
        }
        (UserRole::Reseller, Some(named), Principal::Reseller(own)) if named != own => {
            return Err(Problem::invalid(
                "reseller",
                "a reseller invites only its own users",
            ));
        }
        (UserRole::Reseller, Some(named), _) => {
            if !crate::dns_label(named, 63) {
                return Err(Problem::invalid("reseller", "is not a Reseller name"));
            }
            Some(named.to_owned())
        }
    };
    if by_email(db, &email).await.map_err(db_error)?.is_some() {
        return Err(Problem::conflict("a user with this e-mail exists").with_field("email"));
    }
    let now = Utc::now();
    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        display_name: Set(display_name.to_owned()),
        role: Set(new.role),
        reseller: Set(reseller),
        status: Set(UserStatus::Invited),
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
    .map_err(db_error)?;
    let link = links::make(db, user.id, LinkPurpose::Invitation)
        .await
        .map_err(link_error)?;
    audit::record(
        db,
        caller,
        "user.invited",
        audit::Concerns {
            tenant: None,
            reseller: user.reseller.as_deref(),
        },
        json!({ "user": user.id, "email": user.email, "role": user.role }),
    )
    .await;
    Ok((user, link))
}

/// A link failure as the caller sees it.
pub fn link_error(error: MakeError) -> Problem {
    match error {
        MakeError::Db(error) => db_error(error),
        MakeError::Random(error) => {
            tracing::error!(%error, "no randomness for a link");
            Problem::internal()
        }
    }
}

/// Sets a user's status: disabling ends their sessions, enabling lets an active user in again.
/// No one disables themselves.
pub async fn set_status(
    db: &impl ConnectionTrait,
    caller: &Caller,
    principal: &Principal,
    id: Uuid,
    status: UserStatus,
    me: Option<Uuid>,
) -> Result<user::Model, Problem> {
    let user = managed(db, principal, id).await?;
    if status == UserStatus::Invited {
        return Err(Problem::invalid("status", "is active or disabled"));
    }
    if me == Some(id) && status == UserStatus::Disabled {
        return Err(Problem::conflict("no one disables themselves").with_field("status"));
    }
    if user.status == UserStatus::Invited && status == UserStatus::Active {
        return Err(
            Problem::conflict("an invited user becomes active by accepting").with_field("status"),
        );
    }
    if user.status == status {
        return Ok(user);
    }
    let before = user.status;
    let mut active = user.into_active_model();
    active.status = Set(status);
    active.updated_at = Set(Utc::now());
    let user = active.update(db).await.map_err(db_error)?;
    let ended = if status == UserStatus::Disabled {
        sessions::revoke_all(db, id, None).await.map_err(db_error)?
    } else {
        0
    };
    audit::record(
        db,
        caller,
        "user.status_changed",
        audit::Concerns {
            tenant: None,
            reseller: user.reseller.as_deref(),
        },
        json!({ "user": id, "from": before, "to": status, "sessions_ended": ended }),
    )
    .await;
    Ok(user)
}

/// Lifts the lockout of a user's e-mail.
pub async fn unlock(
    db: &impl ConnectionTrait,
    caller: &Caller,
    principal: &Principal,
    id: Uuid,
) -> Result<(), Problem> {
    let user = managed(db, principal, id).await?;
    let subject = lockouts::account_subject(&user.email);
    let was_locked = lockouts::lift(db, &subject, Utc::now())
        .await
        .map_err(db_error)?;
    audit::record(
        db,
        caller,
        "sign_in.unlocked",
        audit::Concerns {
            tenant: None,
            reseller: user.reseller.as_deref(),
        },
        json!({ "user": id, "was_locked": was_locked }),
    )
    .await;
    Ok(())
}

/// Lifts the lockout of a source address (`address` must be an IP address).
pub async fn unlock_address(
    db: &impl ConnectionTrait,
    caller: &Caller,
    address: &str,
) -> Result<(), Problem> {
    let address: std::net::IpAddr = address
        .trim()
        .parse()
        .map_err(|_| Problem::invalid("address", "must be an IPv4 or IPv6 address"))?;
    let subject = lockouts::address_subject(&address.to_string());
    let was_locked = lockouts::lift(db, &subject, Utc::now())
        .await
        .map_err(db_error)?;
    audit::record(
        db,
        caller,
        "sign_in.unlocked",
        audit::Concerns::default(),
        json!({ "address": address, "was_locked": was_locked }),
    )
    .await;
    Ok(())
}
