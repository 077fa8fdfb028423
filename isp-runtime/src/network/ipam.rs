//! IP address management: pools of IPv4 or IPv6 addresses, or of IPv6 prefixes to delegate,
//! for one NAS, one site or every NAS. Each address a pool hands out is a row of its own, so
//! one address has at most one holder by construction, and the next free one after the last
//! handed out ([`NextFit`]) is taken under a row lock that concurrent allocators skip. Pools
//! never overlap.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, LazyLock, Mutex, PoisonError},
};

use ipnet::IpNet;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, Statement,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    entity::{ip_address, ip_pool, nas},
    wire::NewPool,
};
use crate::{
    api::Actor,
    audit,
    db::new_id,
    error::{Error, Result},
    validate,
};

/// The most addresses (or delegated prefixes) one pool may hold: a /16 of IPv4.
pub const MAX_POOL_SIZE: u64 = 65_536;

/// What a pool hands out, worked out from its prefix: every address but the network, the
/// broadcast (IPv4), the gateway and the reserved ones; or, for delegation, each prefix of the
/// delegated length.
pub fn members(
    prefix: IpNet,
    delegated_length: Option<u8>,
    gateway: Option<IpAddr>,
    reserved: &[IpAddr],
) -> Result<Vec<String>> {
    let excluded = |a: &IpAddr| Some(*a) == gateway || reserved.contains(a);
    if let Some(length) = delegated_length {
        let IpNet::V6(v6) = prefix else {
            return Err(Error::invalid(
                "delegated_length",
                "only IPv6 prefixes are delegated",
            ));
        };
        if length <= v6.prefix_len() || length > 64 {
            return Err(Error::invalid(
                "delegated_length",
                format!("must be longer than /{} and at most /64", v6.prefix_len()),
            ));
        }
        if u32::from(length - v6.prefix_len()) > MAX_POOL_SIZE.ilog2() {
            return Err(Error::invalid(
                "delegated_length",
                format!("makes more than {MAX_POOL_SIZE} prefixes"),
            ));
        }
        let subnets = v6
            .subnets(length)
            .map_err(|_| Error::invalid("delegated_length", "does not fit the prefix"))?;
        return Ok(subnets.map(|s| s.to_string()).collect());
    }
    let host_bits = u32::from(prefix.max_prefix_len() - prefix.prefix_len());
    if host_bits > MAX_POOL_SIZE.ilog2() {
        return Err(Error::invalid(
            "prefix",
            format!("holds more than {MAX_POOL_SIZE} addresses; split it into pools"),
        ));
    }
    let hosts: Vec<IpAddr> = match prefix {
        // Without network and broadcast, except in a /31 or /32, which have none (RFC 3021).
        IpNet::V4(v4) => v4.hosts().map(IpAddr::V4).collect(),
        // The first address of an IPv6 subnet is its subnet-router anycast address.
        IpNet::V6(v6) => v6.hosts().skip(1).map(IpAddr::V6).collect(),
    };
    let gateway_in = gateway.is_none_or(|g| prefix.contains(&g));
    if !gateway_in {
        return Err(Error::invalid("gateway", "is not inside the prefix"));
    }
    if let Some(outside) = reserved.iter().find(|r| !prefix.contains(*r)) {
        return Err(Error::invalid(
            "reserved",
            format!("{outside} is not inside the prefix"),
        ));
    }
    Ok(hosts
        .into_iter()
        .filter(|a| !excluded(a))
        .map(|a| a.to_string())
        .collect())
}

fn parse_prefix(text: &str) -> Result<IpNet> {
    let prefix: IpNet = text.trim().parse().map_err(|_| {
        Error::invalid("prefix", "is not a prefix (`10.0.0.0/24`, `2001:db8::/48`)")
    })?;
    if prefix.trunc() != prefix {
        return Err(Error::invalid(
            "prefix",
            format!("has host bits set; the prefix is {}", prefix.trunc()),
        ));
    }
    Ok(prefix)
}

/// Creates a pool and every address it hands out.
pub async fn create(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    input: NewPool,
) -> Result<ip_pool::Model> {
    let name = validate::text("name", &input.name, 100)?;
    let prefix = parse_prefix(&input.prefix)?;
    let delegated = input
        .delegated_length
        .map(|l| u8::try_from(l).map_err(|_| Error::invalid("delegated_length", "must be 1 to 64")))
        .transpose()?;
    let gateway = match (&input.gateway, prefix, delegated) {
        (Some(_), _, Some(_)) => {
            return Err(Error::invalid(
                "gateway",
                "a delegation pool has no gateway",
            ));
        }
        (Some(text), _, None) => Some(super::nas::canonical_address("gateway", text)?),
        // The first host is the gateway unless another is named.
        (None, IpNet::V4(v4), None) if v4.prefix_len() < 31 => v4.hosts().next().map(IpAddr::V4),
        (None, _, _) => None,
    };
    let reserved = input
        .reserved
        .iter()
        .map(|r| super::nas::canonical_address("reserved", r))
        .collect::<Result<Vec<_>>>()?;
    let members = members(prefix, delegated, gateway, &reserved)?;
    if members.is_empty() {
        return Err(Error::invalid("prefix", "leaves no address to hand out"));
    }
    if let Some(nas_id) = input.nas_id {
        nas::Entity::find_by_id(nas_id)
            .one(txn)
            .await?
            .ok_or_else(|| Error::invalid("nas_id", "no such NAS"))?;
    }
    let site = validate::optional_text("site", input.site.as_deref(), 100)?;
    if input.nas_id.is_some() && site.is_some() {
        return Err(Error::invalid(
            "site",
            "a pool is for one NAS or one site, not both",
        ));
    }
    // SQLite has no exclusion constraint: the write transaction serialises pool creation, so
    // this check is the guarantee there; on PostgreSQL the constraint backs it.
    for other in ip_pool::Entity::find().all(txn).await? {
        if other.name == name {
            return Err(Error::conflict(Some("name"), "another pool has this name"));
        }
        let overlaps = other
            .prefix
            .parse::<IpNet>()
            .is_ok_and(|o| o.contains(&prefix) || prefix.contains(&o));
        if overlaps {
            return Err(Error::conflict(
                Some("prefix"),
                format!("overlaps pool {} ({})", other.name, other.prefix),
            ));
        }
    }
    let size = i32::try_from(members.len()).map_err(|_| Error::invalid("prefix", "too large"))?;
    let model = ip_pool::ActiveModel {
        id: Set(new_id()),
        name: Set(name),
        prefix: Set(prefix.to_string()),
        family: Set(if prefix.addr().is_ipv4() { 4 } else { 6 }),
        delegated_length: Set(delegated.map(i32::from)),
        nas_id: Set(input.nas_id),
        site: Set(site),
        walled_garden: Set(input.walled_garden.unwrap_or(false)),
        size: Set(size),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            Error::conflict(Some("name"), "another pool has this name")
        }
        _ if e.to_string().contains("ip_pools_no_overlap") => {
            Error::conflict(Some("prefix"), "overlaps another pool")
        }
        _ => Error::Db(e),
    })?;
    for (chunk_start, chunk) in members.chunks(1000).enumerate() {
        let rows = chunk
            .iter()
            .enumerate()
            .map(|(i, address)| ip_address::ActiveModel {
                pool_id: Set(model.id),
                position: Set(i32::try_from(chunk_start * 1000 + i).unwrap_or(i32::MAX)),
                address: Set(address.clone()),
                subscription_id: Set(None),
                r#static: Set(false),
                session_id: Set(None),
                assigned_at: Set(None),
            });
        ip_address::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await
            .map_err(|e| {
                Error::unique_as_conflict(e, "prefix", "an address of it is in another pool")
            })?;
    }
    audit::by(
        txn,
        actor,
        "ip_pool.created",
        "ip_pool",
        model.id,
        json!({"name": model.name, "prefix": model.prefix, "size": model.size}),
    )
    .await?;
    Ok(model)
}

/// How many of a pool's addresses are held.
pub async fn used(db: &impl ConnectionTrait, pool: Uuid) -> Result<u64> {
    Ok(ip_address::Entity::find()
        .filter(ip_address::Column::PoolId.eq(pool))
        .filter(ip_address::Column::SubscriptionId.is_not_null())
        .count(db)
        .await?)
}

/// Which pools a sign-in at `place` takes an address from, best first: the NAS's own, then
/// its site's, then those for every NAS; walled-garden pools for a suspended subscriber, the
/// others otherwise.
pub async fn pools_for(db: &impl ConnectionTrait, place: &Place) -> Result<Vec<ip_pool::Model>> {
    eligible(db, place, false).await
}

/// An IPv6 prefix to delegate to `subscription` signing in at `place` (its own, else the
/// next free one of the best delegation pool), when there is one.
pub async fn lease_prefix(
    db: &impl ConnectionTrait,
    next: &NextFit,
    subscription: Uuid,
    place: &Place,
) -> Result<Option<String>> {
    let pools = eligible(db, place, true).await?;
    lease(db, next, subscription, &pools, place).await
}

/// The pools of addresses (or, with `delegation`, of prefixes to delegate) a sign-in at
/// `place` may take from, best first.
async fn eligible(
    db: &impl ConnectionTrait,
    place: &Place,
    delegation: bool,
) -> Result<Vec<ip_pool::Model>> {
    let length = if delegation {
        ip_pool::Column::DelegatedLength.is_not_null()
    } else {
        ip_pool::Column::DelegatedLength.is_null()
    };
    let mut pools: Vec<ip_pool::Model> = ip_pool::Entity::find()
        .filter(ip_pool::Column::WalledGarden.eq(place.walled_garden))
        .filter(length)
        .all(db)
        .await?
        .into_iter()
        .filter(|p| serves(p.nas_id, p.site.as_deref(), place))
        .collect();
    pools.sort_by_key(|p| (p.nas_id.is_none(), p.site.is_none(), p.created_at));
    Ok(pools)
}

/// Whether a pool for NAS `nas` or site `site` (or, with neither, for every NAS) hands out to
/// a sign-in at `place`.
fn serves(nas: Option<Uuid>, site: Option<&str>, place: &Place) -> bool {
    match (nas, site) {
        (Some(id), _) => id == place.nas,
        (None, Some(site)) => place.site.as_deref() == Some(site),
        (None, None) => true,
    }
}

/// An address a subscription holds, and the pool it is from. Admission's query reads it as a
/// JSON array of these fields in this order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Held {
    /// The address.
    pub address: String,
    /// Whether it is the subscription's for good.
    pub r#static: bool,
    /// Whether a session uses it.
    pub in_use: bool,
    /// Since when it is held.
    pub assigned_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The pool's NAS.
    pub pool_nas: Option<Uuid>,
    /// The pool's site.
    pub pool_site: Option<String>,
    /// Whether the pool is a walled garden.
    pub walled_garden: bool,
    /// Whether the pool delegates prefixes.
    pub delegation: bool,
}

impl Held {
    /// Whether its pool hands out addresses (not prefixes) to a sign-in at `place`.
    pub fn serves(&self, place: &Place) -> bool {
        !self.delegation
            && self.walled_garden == place.walled_garden
            && serves(self.pool_nas, self.pool_site.as_deref(), place)
    }
}

/// Of what a subscription holds in the pools serving a sign-in, the one the sign-in keeps: its
/// static one, else (when it holds as many leases as it may have sessions) the oldest lease no
/// session uses. `None`: it takes a new one.
pub fn kept<'a>(there: &[&'a Held], most_sessions: u32) -> Option<&'a Held> {
    if let Some(own) = there.iter().find(|h| h.r#static) {
        return Some(own);
    }
    let leases = there.len();
    let full = leases >= usize::try_from(most_sessions).unwrap_or(usize::MAX);
    there
        .iter()
        .copied()
        .filter(|h| !h.in_use)
        .min_by_key(|h| h.assigned_at)
        .filter(|_| full)
}

/// Where each pool last handed out an address, so that the next allocation starts after it
/// (next-fit, as Kea's iterative allocator) and wraps round to the lowest free one at the end.
/// An address given back is thus handed out again only once the rest of the pool has had its
/// turn, which keeps "who had this address then" unambiguous in abuse reports; and allocations
/// never walk over the entries of addresses taken since the free-address index was last
/// vacuumed, as lowest-first would at the front of a busy pool. Kept in memory: a restarted
/// instance starts again from the lowest free address.
#[derive(Debug, Clone, Default)]
pub struct NextFit(Arc<Mutex<HashMap<Uuid, i32>>>);

impl NextFit {
    /// The position the next allocation in `pool` starts after (-1: the start).
    fn after(&self, pool: Uuid) -> i32 {
        let last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        last.get(&pool).copied().unwrap_or(-1)
    }

    /// Every pool's last position, as the JSON object [`ALLOCATE`] reads (`{"<pool>": 17}`).
    fn json(&self) -> String {
        let last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        serde_json::Value::Object(
            last.iter()
                .map(|(pool, at)| (pool.to_string(), json!(at)))
                .collect(),
        )
        .to_string()
    }

    /// Notes that `pool` handed out its address at `position`.
    fn took(&self, pool: Uuid, position: i32) {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        last.insert(pool, position);
    }
}

/// The free row of pool `pool` that [`NextFit`] hands out (both arguments SQL expressions):
/// the first after position `after`, else the lowest (the second lookup runs only when the
/// first finds none). Rows another allocator holds locked are skipped (`lock`: ` FOR UPDATE
/// SKIP LOCKED` on PostgreSQL; SQLite runs one writer at a time, so its lookup cannot race).
fn next_free(pool: &str, after: &str, lock: &str) -> String {
    format!(
        "COALESCE((SELECT position FROM ip_addresses WHERE pool_id = {pool} \
         AND subscription_id IS NULL AND position > {after} ORDER BY position LIMIT 1{lock}), \
         (SELECT position FROM ip_addresses WHERE pool_id = {pool} \
         AND subscription_id IS NULL ORDER BY position LIMIT 1{lock}))"
    )
}

/// An address for `subscription` signing in at `place` from `pools` (those serving it): the
/// one it [`kept`], else the next free one of the first pool with one. `None` when every pool
/// is full.
pub async fn lease(
    db: &impl ConnectionTrait,
    next: &NextFit,
    subscription: Uuid,
    pools: &[ip_pool::Model],
    place: &Place,
) -> Result<Option<String>> {
    let ids: Vec<Uuid> = pools.iter().map(|p| p.id).collect();
    if ids.is_empty() {
        return Ok(None);
    }
    let held: Vec<Held> = ip_address::Entity::find()
        .filter(ip_address::Column::PoolId.is_in(ids.clone()))
        .filter(ip_address::Column::SubscriptionId.eq(subscription))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|a| {
            let pool = pools.iter().find(|p| p.id == a.pool_id)?;
            Some(Held {
                address: a.address,
                r#static: a.r#static,
                in_use: a.session_id.is_some(),
                assigned_at: a.assigned_at,
                pool_nas: pool.nas_id,
                pool_site: pool.site.clone(),
                walled_garden: pool.walled_garden,
                delegation: pool.delegated_length.is_some(),
            })
        })
        .collect();
    if let Some(own) = kept(&held.iter().collect::<Vec<_>>(), place.most_sessions) {
        return Ok(Some(own.address.clone()));
    }
    take(db, next, subscription, &ids).await
}

/// The next free address of the first of `pools` with one, now `subscription`'s.
async fn take(
    db: &impl ConnectionTrait,
    next: &NextFit,
    subscription: Uuid,
    pools: &[Uuid],
) -> Result<Option<String>> {
    let backend = db.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE ip_addresses SET subscription_id = $1, assigned_at = $2 \
         WHERE pool_id = $3 AND position = {} RETURNING address, position",
        next_free("$3", "$4", lock)
    );
    let now = chrono::Utc::now();
    for pool in pools {
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql.clone(),
                [
                    subscription.into(),
                    now.into(),
                    (*pool).into(),
                    next.after(*pool).into(),
                ],
            ))
            .await?;
        if let Some(row) = row {
            next.took(*pool, row.try_get_by_index(1)?);
            return Ok(Some(row.try_get_by_index::<String>(0)?));
        }
    }
    Ok(None)
}

/// Where a sign-in takes its address from: through which NAS, at which site, and whether into
/// the walled garden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The NAS.
    pub nas: Uuid,
    /// Its site.
    pub site: Option<String>,
    /// Whether from a walled-garden pool.
    pub walled_garden: bool,
    /// The most sessions the login may hold. Below that, each sign-in gets an address of its
    /// own; at it, a sign-in takes a lease no session took up yet (a router retrying, or one
    /// signing in again and again without ever starting a session), so no login holds more
    /// addresses than it may have sessions.
    pub most_sessions: u32,
}

/// [`allocate`]'s statement on PostgreSQL: the next free address of the best pool serving the
/// sign-in. `$1` the subscription, `$2` walled garden, `$3` the NAS, `$4` its site, `$5` where
/// each pool last handed out ([`NextFit::json`]), `$6` now.
static ALLOCATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH best AS (SELECT id, COALESCE(($5::jsonb ->> id::text)::integer, -1) AS after \
         FROM ip_pools WHERE walled_garden = $2 AND delegated_length IS NULL \
         AND (nas_id = $3 OR (nas_id IS NULL AND (site IS NULL OR site = $4))) \
         ORDER BY (nas_id IS NULL), (site IS NULL), created_at LIMIT 1) \
         UPDATE ip_addresses SET subscription_id = $1, assigned_at = $6 \
         WHERE pool_id = (SELECT id FROM best) AND position = {} \
         RETURNING address, pool_id, position",
        next_free(
            "(SELECT id FROM best)",
            "(SELECT after FROM best)",
            " FOR UPDATE SKIP LOCKED"
        )
    )
});

/// An address for `subscription` signing in at `place` (as [`lease`] over [`pools_for`]): the
/// one it keeps, else a new one.
pub async fn lease_for(
    db: &impl ConnectionTrait,
    next: &NextFit,
    subscription: Uuid,
    place: &Place,
) -> Result<Option<String>> {
    let pools = pools_for(db, place).await?;
    lease(db, next, subscription, &pools, place).await
}

/// A new address for `subscription` signing in at `place`, which holds none it [`kept`]: the
/// next free one of the best pool with one. On PostgreSQL one statement when the best pool
/// has one.
pub async fn allocate(
    db: &impl ConnectionTrait,
    next: &NextFit,
    subscription: Uuid,
    place: &Place,
) -> Result<Option<String>> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        let values: Vec<sea_orm::Value> = vec![
            subscription.into(),
            place.walled_garden.into(),
            place.nas.into(),
            place.site.clone().into(),
            next.json().into(),
            chrono::Utc::now().into(),
        ];
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                ALLOCATE.as_str(),
                values,
            ))
            .await?;
        if let Some(row) = row {
            next.took(row.try_get_by_index(1)?, row.try_get_by_index(2)?);
            return Ok(Some(row.try_get_by_index::<String>(0)?));
        }
    }
    let pools: Vec<Uuid> = pools_for(db, place).await?.iter().map(|p| p.id).collect();
    take(db, next, subscription, &pools).await
}

/// Gives `subscription` `address` for good (a static address), in place of any static one
/// it had: the address must be in a pool and free, or leased to it already.
pub async fn assign_static(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    subscription: Uuid,
    address: &str,
) -> Result<ip_address::Model> {
    let address = super::nas::canonical_address("address", address)?.to_string();
    crate::billing::subscriptions::service::find(txn, subscription).await?;
    let Some(row) = ip_address::Entity::find()
        .filter(ip_address::Column::Address.eq(&address))
        .one(txn)
        .await?
    else {
        return Err(Error::invalid(
            "address",
            "is in no pool (or is a pool's network, broadcast, gateway or reserved address)",
        ));
    };
    if row
        .subscription_id
        .is_some_and(|holder| holder != subscription)
    {
        return Err(Error::conflict(
            Some("address"),
            "another subscription holds this address",
        ));
    }
    unassign_static(txn, subscription).await?;
    let mut active = row.into_active_model();
    active.subscription_id = Set(Some(subscription));
    active.r#static = Set(true);
    active.assigned_at = Set(Some(chrono::Utc::now()));
    let assigned = active.update(txn).await?;
    audit::by(
        txn,
        actor,
        "ip_address.assigned",
        "subscription",
        subscription,
        json!({"address": assigned.address}),
    )
    .await?;
    Ok(assigned)
}

/// Frees `subscription`'s static address, if it has one; answers it.
pub async fn unassign_static(
    txn: &impl ConnectionTrait,
    subscription: Uuid,
) -> Result<Option<String>> {
    let Some(row) = ip_address::Entity::find()
        .filter(ip_address::Column::SubscriptionId.eq(subscription))
        .filter(ip_address::Column::Static.eq(true))
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let address = row.address.clone();
    let in_use = row.session_id.is_some();
    let mut active = row.into_active_model();
    active.r#static = Set(false);
    // In use by a live session it stays that session's lease until its Stop.
    if !in_use {
        active.subscription_id = Set(None);
        active.assigned_at = Set(None);
    }
    active.update(txn).await?;
    Ok(Some(address))
}

/// Binds the lease of `address` held by `subscription` to the RADIUS session using it.
pub async fn bind(
    db: &impl ConnectionTrait,
    subscription: Uuid,
    address: &str,
    session: Uuid,
) -> Result<()> {
    ip_address::Entity::update_many()
        .col_expr(ip_address::Column::SessionId, session.into())
        .filter(ip_address::Column::Address.eq(address))
        .filter(ip_address::Column::SubscriptionId.eq(subscription))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives back what `session` held: a leased address becomes free, a static one stays its
/// subscription's.
pub async fn release(db: &impl ConnectionTrait, session: Uuid) -> Result<()> {
    ip_address::Entity::update_many()
        .col_expr(
            ip_address::Column::SubscriptionId,
            Option::<Uuid>::None.into(),
        )
        .col_expr(
            ip_address::Column::AssignedAt,
            Option::<chrono::DateTime<chrono::Utc>>::None.into(),
        )
        .col_expr(ip_address::Column::SessionId, Option::<Uuid>::None.into())
        .filter(ip_address::Column::SessionId.eq(session))
        .filter(ip_address::Column::Static.eq(false))
        .exec(db)
        .await?;
    ip_address::Entity::update_many()
        .col_expr(ip_address::Column::SessionId, Option::<Uuid>::None.into())
        .filter(ip_address::Column::SessionId.eq(session))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn a_pool_leaves_out_network_broadcast_gateway_and_reserved() {
        let gateway = Some("10.0.0.1".parse().unwrap());
        let reserved = ["10.0.0.9".parse().unwrap()];
        let got = members(net("10.0.0.0/28"), None, gateway, &reserved).unwrap();
        assert_eq!(got.first().map(String::as_str), Some("10.0.0.2"));
        assert_eq!(
            got.last().map(String::as_str),
            Some("10.0.0.14"),
            "no broadcast"
        );
        assert_eq!(got.len(), 16 - 2 - 1 - 1);
        assert!(!got.contains(&"10.0.0.9".to_owned()));
        assert_eq!(
            members(net("10.0.0.0/31"), None, None, &[]).unwrap().len(),
            2
        );
    }

    #[test]
    fn a_sign_in_keeps_its_static_address_or_at_its_limit_its_oldest_unused_lease() {
        let nas = Uuid::now_v7();
        let place = |most_sessions| Place {
            nas,
            site: Some("north".to_owned()),
            walled_garden: false,
            most_sessions,
        };
        let at = |minute: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
                .and_then(|d| d.and_hms_opt(10, minute, 0))
                .map(|t| t.and_utc())
        };
        let held = |address: &str, in_use, minute| Held {
            address: address.to_owned(),
            r#static: false,
            in_use,
            assigned_at: at(minute),
            pool_nas: None,
            pool_site: Some("north".to_owned()),
            walled_garden: false,
            delegation: false,
        };
        let all = [
            held("10.0.0.2", true, 1),
            held("10.0.0.4", false, 3),
            held("10.0.0.3", false, 2),
            // Another site's pool, a walled garden's, a delegation pool's: not this sign-in's.
            Held {
                pool_site: Some("south".to_owned()),
                ..held("10.9.0.2", false, 0)
            },
            Held {
                walled_garden: true,
                ..held("10.8.0.2", false, 0)
            },
            Held {
                delegation: true,
                ..held("2001:db8::/56", false, 0)
            },
        ];
        let there =
            |most| -> Vec<&Held> { all.iter().filter(|h| h.serves(&place(most))).collect() };
        assert_eq!(there(3).len(), 3);
        assert_eq!(kept(&there(4), 4), None, "below its limit: a new address");
        assert_eq!(
            kept(&there(3), 3).map(|h| h.address.as_str()),
            Some("10.0.0.3"),
            "at its limit: the oldest lease no session uses"
        );
        let fixed = Held {
            r#static: true,
            in_use: true,
            ..held("10.0.0.9", true, 9)
        };
        let with_static: Vec<&Held> = there(4).into_iter().chain([&fixed]).collect();
        assert_eq!(
            kept(&with_static, 4).map(|h| h.address.as_str()),
            Some("10.0.0.9"),
            "a static address always"
        );
    }

    #[test]
    fn ipv6_pools_hand_out_addresses_or_delegated_prefixes() {
        let addresses = members(net("2001:db8::/120"), None, None, &[]).unwrap();
        assert_eq!(addresses.first().map(String::as_str), Some("2001:db8::1"));
        assert_eq!(addresses.len(), 255);
        let delegated = members(net("2001:db8::/48"), Some(56), None, &[]).unwrap();
        assert_eq!(delegated.len(), 256);
        assert_eq!(delegated[1], "2001:db8:0:100::/56");
        let Err(Error::Invalid { field, .. }) = members(net("10.0.0.0/8"), None, None, &[]) else {
            panic!("a /8 is too large")
        };
        assert_eq!(field, "prefix");
        let Err(Error::Invalid { field, .. }) = members(net("10.0.0.0/24"), Some(26), None, &[])
        else {
            panic!("IPv4 is not delegated")
        };
        assert_eq!(field, "delegated_length");
    }
}
