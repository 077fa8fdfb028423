//! The RADIUS side of rlm_rest, as pure functions: the attributes FreeRADIUS posts, the reply
//! it turns back into attributes, and which attributes carry a plan's speeds for each vendor.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{entity::Vendor, packet};

/// The attributes of a request as rlm_rest posts them (`body = 'json'`): by name, each with
/// its values.
#[derive(Debug, Default, Deserialize)]
pub struct Attributes(HashMap<String, Attribute>);

#[derive(Debug, Deserialize)]
struct Attribute {
    value: Vec<Value>,
}

impl Attributes {
    /// The first value of `name` as text (numbers in their decimal form).
    pub fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)?.value.first()? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The first value of `name` as an unsigned number.
    pub fn number(&self, name: &str) -> Option<u64> {
        match self.0.get(name)?.value.first()? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// The registered NAS FreeRADIUS says the request came from (`DotMac-NAS-Id`).
    pub fn nas_id(&self) -> Option<uuid::Uuid> {
        self.text("DotMac-NAS-Id")
            .and_then(|id| uuid::Uuid::parse_str(&id).ok())
    }

    /// The MAC an IPoE login would sign in with: the User-Name's, else Calling-Station-Id's.
    pub fn login_mac(&self) -> Option<String> {
        self.text("User-Name")
            .as_deref()
            .and_then(mac)
            .or_else(|| self.text("Calling-Station-Id").as_deref().and_then(mac))
    }

    /// A 32-bit octet counter and its gigaword counter (RFC 2869) as one total.
    pub fn octets(&self, counter: &str, gigawords: &str) -> i64 {
        let low = self.number(counter).unwrap_or(0) & 0xFFFF_FFFF;
        let high = self.number(gigawords).unwrap_or(0) & 0xFFFF_FFFF;
        i64::try_from((high << 32) | low).unwrap_or(i64::MAX)
    }
}

/// What the instance answers FreeRADIUS: `list:Attribute` keys, each with its values, its
/// operator, and `do_xlat` off so that no stored text is ever expanded by FreeRADIUS.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Reply(Map<String, Value>);

impl Reply {
    /// Sets `attribute` (`reply:Framed-IP-Address`) to `values`, replacing any it had.
    pub fn set(mut self, attribute: &str, values: impl IntoIterator<Item = Value>) -> Self {
        let values: Vec<Value> = values.into_iter().collect();
        self.0.insert(
            attribute.to_owned(),
            json!({"op": ":=", "value": values, "do_xlat": false}),
        );
        self
    }

    /// Sets `attribute` to one text value.
    pub fn text(self, attribute: &str, value: impl Into<String>) -> Self {
        self.set(attribute, [Value::String(value.into())])
    }

    /// Whether `attribute` is set.
    pub fn has(&self, attribute: &str) -> bool {
        self.0.contains_key(attribute)
    }

    /// The JSON object rlm_rest reads.
    pub fn into_json(self) -> Value {
        Value::Object(self.0)
    }
}

/// A plan's speeds in Mbit/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Speeds {
    /// Towards the subscriber.
    pub down_mbps: i64,
    /// From the subscriber.
    pub up_mbps: i64,
}

impl Speeds {
    /// Speeds from a plan's download and upload columns, when it has both.
    pub fn of(down_mbps: Option<i32>, up_mbps: Option<i32>) -> Option<Self> {
        Some(Self {
            down_mbps: i64::from(down_mbps?),
            up_mbps: i64::from(up_mbps?),
        })
    }
}

/// The profile a Juniper NAS applies for a plan: its code, with `-fair-use` when throttled.
pub fn profile(plan_code: &str, throttled: bool) -> String {
    if throttled {
        format!("{plan_code}-fair-use")
    } else {
        plan_code.to_owned()
    }
}

/// A reply attribute the instance sets on a NAS, at sign-in (through FreeRADIUS) or by CoA (on
/// the wire): one list of them serves both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// MikroTik's `rx/tx` rate limit.
    MikrotikRateLimit(String),
    /// A Cisco AV pair.
    CiscoAvPair(String),
    /// A Juniper (ERX) QoS profile.
    ErxQosProfileName(String),
    /// WISPr upload limit in bit/s.
    WisprBandwidthMaxUp(u32),
    /// WISPr download limit in bit/s.
    WisprBandwidthMaxDown(u32),
    /// A filter defined on the NAS.
    FilterId(String),
}

impl Setting {
    /// Its name in FreeRADIUS's dictionaries.
    pub fn name(&self) -> &'static str {
        match self {
            Self::MikrotikRateLimit(_) => "Mikrotik-Rate-Limit",
            Self::CiscoAvPair(_) => "Cisco-AVPair",
            Self::ErxQosProfileName(_) => "ERX-Qos-Profile-Name",
            Self::WisprBandwidthMaxUp(_) => "WISPr-Bandwidth-Max-Up",
            Self::WisprBandwidthMaxDown(_) => "WISPr-Bandwidth-Max-Down",
            Self::FilterId(_) => "Filter-Id",
        }
    }

    fn json(&self) -> Value {
        match self {
            Self::MikrotikRateLimit(t)
            | Self::CiscoAvPair(t)
            | Self::ErxQosProfileName(t)
            | Self::FilterId(t) => json!(t),
            Self::WisprBandwidthMaxUp(n) | Self::WisprBandwidthMaxDown(n) => json!(n),
        }
    }

    /// The attribute on the wire.
    pub fn wire(&self) -> packet::Attribute {
        let vendor = |vendor: u32, kind: u8, value: Vec<u8>| packet::Attribute::Vendor {
            vendor,
            kind,
            value,
        };
        match self {
            Self::MikrotikRateLimit(t) => vendor(14988, 8, t.as_bytes().to_vec()),
            Self::CiscoAvPair(t) => vendor(9, 1, t.as_bytes().to_vec()),
            Self::ErxQosProfileName(t) => vendor(4874, 26, t.as_bytes().to_vec()),
            Self::WisprBandwidthMaxUp(n) => vendor(14122, 7, n.to_be_bytes().to_vec()),
            Self::WisprBandwidthMaxDown(n) => vendor(14122, 8, n.to_be_bytes().to_vec()),
            Self::FilterId(t) => packet::Attribute::text(packet::attr::FILTER_ID, t),
        }
    }
}

impl Reply {
    /// Sets each of `settings` on the reply list (values of one attribute together).
    pub fn with(mut self, settings: &[Setting]) -> Self {
        let mut names: Vec<&'static str> = settings.iter().map(Setting::name).collect();
        names.dedup();
        for name in names {
            let values = settings
                .iter()
                .filter(|s| s.name() == name)
                .map(Setting::json);
            self = self.set(&format!("reply:{name}"), values);
        }
        self
    }
}

/// Bits per second of `mbps`, as RADIUS's 32-bit integers hold them (at most about 4.3 Gbit/s).
fn bits(mbps: i64) -> u32 {
    u32::try_from(mbps.saturating_mul(1_000_000)).unwrap_or(u32::MAX)
}

/// The attributes that give `vendor`'s NAS `speeds`; `profile` names the plan for vendors that
/// apply a profile defined on the router (Juniper).
pub fn speed_settings(vendor: Vendor, speeds: Speeds, profile: &str) -> Vec<Setting> {
    let Speeds { down_mbps, up_mbps } = speeds;
    match vendor {
        // rx/tx as the router's interface towards the subscriber sees them: rx is upload.
        Vendor::Mikrotik => vec![Setting::MikrotikRateLimit(format!(
            "{up_mbps}M/{down_mbps}M"
        ))],
        // ISG parameterised QoS: police rates in kbit/s, in = from the subscriber.
        Vendor::Cisco => vec![
            Setting::CiscoAvPair(format!(
                "ip:qos-policy-in=add-class(sub,(class-default),police({}))",
                up_mbps * 1000
            )),
            Setting::CiscoAvPair(format!(
                "ip:qos-policy-out=add-class(sub,(class-default),police({}))",
                down_mbps * 1000
            )),
        ],
        Vendor::Juniper => vec![Setting::ErxQosProfileName(profile.to_owned())],
        Vendor::Generic => vec![
            Setting::WisprBandwidthMaxUp(bits(up_mbps)),
            Setting::WisprBandwidthMaxDown(bits(down_mbps)),
        ],
    }
}

/// A MAC address in the form logins keep (`aa:bb:cc:dd:ee:ff`), from any of the forms NAS
/// vendors send (`AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff`, `aabbccddeeff`).
pub fn mac(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    let pairs: Vec<&str> = (0..6).map(|i| &hex[i * 2..i * 2 + 2]).collect();
    Some(pairs.join(":"))
}

/// An octets attribute's value as rlm_rest sends it (`0x6574682f31`) decoded as text, or the
/// text itself.
pub fn octets_text(value: &str) -> String {
    value
        .strip_prefix("0x")
        .and_then(|hex| hex::decode(hex).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(json: Value) -> Attributes {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn octet_counters_add_their_gigawords() {
        let a = attributes(json!({
            "Acct-Input-Octets": {"type": "integer", "value": [5]},
            "Acct-Input-Gigawords": {"type": "integer", "value": ["2"]},
            "Acct-Output-Octets": {"type": "integer", "value": [4_294_967_295_u64]},
        }));
        assert_eq!(
            a.octets("Acct-Input-Octets", "Acct-Input-Gigawords"),
            (2 << 32) + 5
        );
        assert_eq!(
            a.octets("Acct-Output-Octets", "Acct-Output-Gigawords"),
            4_294_967_295
        );
        assert_eq!(a.octets("Nope", "Nope-Gigawords"), 0);
        assert_eq!(a.text("Acct-Input-Octets").as_deref(), Some("5"));
    }

    #[test]
    fn each_vendor_gets_its_own_speed_attributes() {
        let speeds = Speeds {
            down_mbps: 50,
            up_mbps: 10,
        };
        let reply = |v| {
            Reply::default()
                .with(&speed_settings(v, speeds, "FIBER-50"))
                .into_json()
        };
        assert_eq!(
            reply(Vendor::Mikrotik)["reply:Mikrotik-Rate-Limit"]["value"],
            json!(["10M/50M"])
        );
        assert_eq!(
            reply(Vendor::Cisco)["reply:Cisco-AVPair"]["value"],
            json!([
                "ip:qos-policy-in=add-class(sub,(class-default),police(10000))",
                "ip:qos-policy-out=add-class(sub,(class-default),police(50000))"
            ])
        );
        assert_eq!(
            reply(Vendor::Juniper)["reply:ERX-Qos-Profile-Name"]["value"],
            json!(["FIBER-50"])
        );
        let generic = reply(Vendor::Generic);
        assert_eq!(
            generic["reply:WISPr-Bandwidth-Max-Up"]["value"],
            json!([10_000_000])
        );
        assert_eq!(
            generic["reply:WISPr-Bandwidth-Max-Down"]["value"],
            json!([50_000_000])
        );
        assert_eq!(
            generic["reply:WISPr-Bandwidth-Max-Down"]["do_xlat"],
            json!(false)
        );
    }

    #[test]
    fn macs_are_read_in_every_vendor_form() {
        for form in [
            "AA-BB-CC-DD-EE-0F",
            "aabb.ccdd.ee0f",
            "aabbccddee0f",
            "aa:bb:cc:dd:ee:0f",
        ] {
            assert_eq!(mac(form).as_deref(), Some("aa:bb:cc:dd:ee:0f"), "{form}");
        }
        assert_eq!(mac("aa:bb:cc:dd:ee"), None);
        assert_eq!(mac("bob"), None);
        assert_eq!(octets_text("0x6574682f31"), "eth/1");
        assert_eq!(octets_text("eth/1"), "eth/1");
    }
}
