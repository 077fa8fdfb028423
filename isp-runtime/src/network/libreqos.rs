//! The LibreQoS export: `ShapedDevices.csv` (LibreQoS's own columns) and `network.json` from
//! the subscriptions that have a login, their plans, addresses and NAS, as pure functions over
//! what [`read`] gathers. A circuit is a subscription, its device the login; its parent node
//! the NAS it last signed in through, under that NAS's site. Minimum rates are a tenth of the
//! plan's (at least 1 Mbit/s). Suspended subscribers are left out or shaped at 1 Mbit/s, as the
//! tenant chose; devices without an address cannot be shaped and are left out.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::entity::{ip_address, nas, service_login};
use crate::{
    billing::subscriptions::entity::subscription, catalog::entity::plan,
    customers::entity::customer, domain::lifecycle::ServiceStatus, error::Result,
};

/// What suspended subscribers get in the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SuspendedShaping {
    /// Left out (the NAS already walls or disconnects them).
    Exclude,
    /// Shaped at 1 Mbit/s each way.
    Minimum,
}

/// One subscription's device, as the export needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The subscription (the circuit).
    pub subscription: Uuid,
    /// The customer's name.
    pub name: String,
    /// The login (the device).
    pub login: String,
    /// The NAS it last signed in through, and that NAS's site.
    pub parent: Option<(String, Option<String>)>,
    /// Its MAC, when known.
    pub mac: Option<String>,
    /// IPv4 addresses.
    pub ipv4: Vec<String>,
    /// IPv6 addresses and delegated prefixes.
    pub ipv6: Vec<String>,
    /// The plan's speeds (down, up) in Mbit/s.
    pub speeds: Option<(i64, i64)>,
    /// Whether the subscription is suspended (else active).
    pub suspended: bool,
}

/// The two files.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// `ShapedDevices.csv`.
    pub shaped_devices: String,
    /// `network.json`.
    pub network: Value,
}

/// LibreQoS's columns, in its order.
const HEADER: &str = "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,Download Min Mbps,Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment";

fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn minimum(max: i64) -> i64 {
    (max / 10).max(1)
}

/// Builds both files from `devices`.
pub fn export(devices: &[Device], suspended: SuspendedShaping) -> Export {
    let mut lines = vec![HEADER.to_owned()];
    // Site → NAS → (down, up) summed over the devices shaped under it.
    let mut tree: BTreeMap<Option<String>, BTreeMap<String, (i64, i64)>> = BTreeMap::new();
    for device in devices {
        let Some((down, up)) = (match (device.suspended, suspended) {
            (false, _) => device.speeds,
            (true, SuspendedShaping::Exclude) => None,
            (true, SuspendedShaping::Minimum) => Some((1, 1)),
        }) else {
            continue;
        };
        if device.ipv4.is_empty() && device.ipv6.is_empty() {
            continue;
        }
        let parent = device
            .parent
            .as_ref()
            .map(|(nas, _)| nas.as_str())
            .unwrap_or("");
        if let Some((nas, site)) = &device.parent {
            let node = tree
                .entry(site.clone())
                .or_default()
                .entry(nas.clone())
                .or_default();
            node.0 += down;
            node.1 += up;
        }
        let comment = if device.suspended { "suspended" } else { "" };
        let row = [
            device.subscription.to_string(),
            field(&device.name),
            field(&device.login),
            field(&device.login),
            field(parent),
            field(device.mac.as_deref().unwrap_or("")),
            field(&device.ipv4.join(", ")),
            field(&device.ipv6.join(", ")),
            minimum(down).to_string(),
            minimum(up).to_string(),
            down.to_string(),
            up.to_string(),
            comment.to_owned(),
        ];
        lines.push(row.join(","));
    }
    let node = |(down, up): (i64, i64)| json!({"downloadBandwidthMbps": down.max(1), "uploadBandwidthMbps": up.max(1)});
    let mut network = Map::new();
    for (site, nases) in tree {
        let children: Map<String, Value> = nases
            .iter()
            .map(|(nas, speeds)| (nas.clone(), node(*speeds)))
            .collect();
        match site {
            Some(site) => {
                let total = nases
                    .values()
                    .fold((0, 0), |(d, u), (nd, nu)| (d + nd, u + nu));
                let mut site_node = node(total);
                site_node["type"] = json!("Site");
                site_node["children"] = Value::Object(children);
                network.insert(site, site_node);
            }
            None => network.extend(children),
        }
    }
    Export {
        shaped_devices: lines.join("\n") + "\n",
        network: Value::Object(network),
    }
}

/// Gathers every subscription that has a login, as [`Device`]s.
pub async fn read(db: &impl ConnectionTrait) -> Result<Vec<Device>> {
    let logins = service_login::Entity::find().all(db).await?;
    let subscriptions: HashMap<Uuid, subscription::Model> = subscription::Entity::find()
        .filter(subscription::Column::Id.is_in(logins.iter().map(|l| l.subscription_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let plans: HashMap<Uuid, plan::Model> = plan::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let customers: HashMap<Uuid, String> = customer::Entity::find()
        .filter(customer::Column::Id.is_in(subscriptions.values().map(|s| s.customer_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.display_name))
        .collect();
    let nases: HashMap<Uuid, nas::Model> = nas::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let mut addresses: HashMap<Uuid, Vec<String>> = HashMap::new();
    for address in ip_address::Entity::find()
        .filter(ip_address::Column::SubscriptionId.is_not_null())
        .all(db)
        .await?
    {
        if let Some(sub) = address.subscription_id {
            addresses.entry(sub).or_default().push(address.address);
        }
    }
    // Each subscription's latest session only, not every session ever.
    let mut last: HashMap<Uuid, (Uuid, Option<String>)> = HashMap::new();
    for row in db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT r.subscription_id, r.nas_id, r.calling_station FROM radius_sessions r \
             WHERE r.subscription_id IS NOT NULL AND r.started_at = (SELECT MAX(x.started_at) \
             FROM radius_sessions x WHERE x.subscription_id = r.subscription_id)",
        ))
        .await?
    {
        last.insert(
            row.try_get_by_index(0)?,
            (row.try_get_by_index(1)?, row.try_get_by_index(2)?),
        );
    }
    let mut devices = Vec::new();
    for login in logins {
        let Some(sub) = subscriptions.get(&login.subscription_id) else {
            continue;
        };
        let suspended = match sub.status {
            ServiceStatus::Active => false,
            ServiceStatus::Suspended => true,
            ServiceStatus::Pending | ServiceStatus::Cancelled => continue,
        };
        let plan = plans.get(&sub.plan_id);
        let session = last.get(&sub.id);
        let (mut ipv4, mut ipv6): (Vec<String>, Vec<String>) = addresses
            .remove(&sub.id)
            .unwrap_or_default()
            .into_iter()
            .partition(|a| !a.contains(':'));
        ipv4.sort();
        ipv6.sort();
        let mac = match login.kind {
            super::entity::LoginKind::Ipoe => Some(login.username.clone()),
            super::entity::LoginKind::Pppoe => session
                .and_then(|(_, calling)| calling.as_deref())
                .and_then(super::radius::mac),
        };
        devices.push(Device {
            subscription: sub.id,
            name: customers.get(&sub.customer_id).cloned().unwrap_or_default(),
            login: login.username,
            parent: session
                .and_then(|(nas, _)| nases.get(nas))
                .map(|n| (n.name.clone(), n.site.clone())),
            mac,
            ipv4,
            ipv6,
            speeds: plan
                .and_then(|p| Some((i64::from(p.download_mbps?), i64::from(p.upload_mbps?)))),
            suspended,
        });
    }
    devices.sort_by_key(|d| d.subscription);
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(n: u128, parent: Option<(&str, Option<&str>)>, suspended: bool) -> Device {
        Device {
            subscription: Uuid::from_u128(n),
            name: format!("Customer, No. {n}"),
            login: format!("user{n}"),
            parent: parent.map(|(nas, site)| (nas.to_owned(), site.map(str::to_owned))),
            mac: Some("aa:bb:cc:dd:ee:ff".to_owned()),
            ipv4: vec![format!("100.64.0.{n}")],
            ipv6: vec!["2001:db8:0:100::/56".to_owned()],
            speeds: Some((100, 20)),
            suspended,
        }
    }

    #[test]
    fn shaped_devices_has_libreqos_columns_and_quotes_what_needs_it() {
        let devices = [
            device(1, Some(("bng-1", Some("north"))), false),
            device(2, Some(("bng-1", Some("north"))), true),
            device(3, Some(("bng-2", None)), false),
        ];
        let got = export(&devices, SuspendedShaping::Exclude);
        let lines: Vec<&str> = got.shaped_devices.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(lines.len(), 3, "the suspended one is left out");
        assert_eq!(
            lines[1],
            "00000000-0000-0000-0000-000000000001,\"Customer, No. 1\",user1,user1,bng-1,aa:bb:cc:dd:ee:ff,100.64.0.1,2001:db8:0:100::/56,10,2,100,20,"
        );
        assert_eq!(
            got.network,
            json!({
                "north": {"downloadBandwidthMbps": 100, "uploadBandwidthMbps": 20, "type": "Site",
                          "children": {"bng-1": {"downloadBandwidthMbps": 100, "uploadBandwidthMbps": 20}}},
                "bng-2": {"downloadBandwidthMbps": 100, "uploadBandwidthMbps": 20}
            })
        );
        let shaped = export(&devices, SuspendedShaping::Minimum);
        let suspended = shaped.shaped_devices.lines().nth(2).unwrap();
        assert!(suspended.ends_with(",1,1,1,1,suspended"), "{suspended}");
        assert_eq!(shaped.network["north"]["downloadBandwidthMbps"], 101);
    }

    #[test]
    fn a_device_without_an_address_cannot_be_shaped() {
        let mut bare = device(4, None, false);
        bare.ipv4.clear();
        bare.ipv6.clear();
        let got = export(&[bare], SuspendedShaping::Exclude);
        assert_eq!(got.shaped_devices.lines().count(), 1);
        assert_eq!(got.network, json!({}));
    }
}
