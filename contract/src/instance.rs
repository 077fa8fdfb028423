//! An instance's settings: the environment variables the operator sets (through the tenant's
//! ConfigMap and credentials Secret) and the instance reads, and the entitlements file's place.

/// The tenant the instance belongs to (Redis key prefix `t:<tenant>:`, token prefix, logs).
pub const TENANT: &str = "DOTMAC_TENANT";
/// The tenant's display name.
pub const TENANT_DISPLAY_NAME: &str = "DOTMAC_TENANT_DISPLAY_NAME";
/// The tenant's plan (feature tier).
pub const PLAN: &str = "DOTMAC_PLAN";
/// The tenant's size.
pub const SIZE: &str = "DOTMAC_SIZE";
/// Path of the entitlements file.
pub const ENTITLEMENTS_FILE: &str = "DOTMAC_ENTITLEMENTS_FILE";
/// The most customers the tenant may have.
pub const MAX_CUSTOMERS: &str = "DOTMAC_MAX_CUSTOMERS";
/// API requests per minute per token.
pub const API_RATE_LIMIT_PER_MINUTE: &str = "DOTMAC_API_RATE_LIMIT_PER_MINUTE";
/// ISO 4217 currency of the ISP's plans and invoices.
pub const CURRENCY: &str = "DOTMAC_CURRENCY";
/// Days from an invoice's issue to its due date.
pub const PAYMENT_TERMS_DAYS: &str = "DOTMAC_PAYMENT_TERMS_DAYS";
/// IANA time zone of the ISP's business day.
pub const TIME_ZONE: &str = "DOTMAC_TIME_ZONE";
/// Local hour of the monthly billing run.
pub const BILLING_HOUR: &str = "DOTMAC_BILLING_HOUR";
/// Local hour of the daily dunning run.
pub const DUNNING_HOUR: &str = "DOTMAC_DUNNING_HOUR";
/// Most database connections one replica holds (from the tenant's size).
pub const DATABASE_MAX_CONNECTIONS: &str = "DOTMAC_DATABASE_MAX_CONNECTIONS";
/// The address the instance serves HTTP on.
pub const LISTEN: &str = "DOTMAC_ISP_LISTEN";
/// The instance's database (from the credentials Secret).
pub const DATABASE_URL: &str = "DATABASE_URL";
/// The instance's Redis user (from the credentials Secret).
pub const REDIS_URL: &str = "REDIS_URL";
/// The management API as the instance reaches it, for its health and usage reports.
pub const MANAGEMENT_API_URL: &str = "DOTMAC_MANAGEMENT_API_URL";
/// Where people reach the instance (`https://<domain>`): the base of e-mailed links, and
/// `https` makes its session cookies `Secure`.
pub const PUBLIC_URL: &str = "DOTMAC_PUBLIC_URL";
/// Whether the client's address is the last `X-Forwarded-For` hop (behind the tenant's
/// Ingress).
pub const TRUST_FORWARDED_FOR: &str = "DOTMAC_TRUST_FORWARDED_FOR";
/// The SMTP server's URL with its credentials (from the Secret `spec.mail.smtpSecretRef`).
pub const SMTP_URL: &str = "DOTMAC_SMTP_URL";
/// The sender of the instance's e-mail.
pub const MAIL_FROM: &str = "DOTMAC_MAIL_FROM";
/// The instance's own token at the management API (from the credentials Secret).
pub const MANAGEMENT_API_TOKEN: &str = "DOTMAC_MANAGEMENT_API_TOKEN";

/// Where the instance serves the AAA endpoints FreeRADIUS calls (the pod's loopback).
pub const AAA_LISTEN: &str = "DOTMAC_AAA_LISTEN";
/// The password FreeRADIUS signs in to them with, and the instance signs Status-Server with
/// (from the credentials Secret).
pub const AAA_SECRET: &str = "DOTMAC_AAA_SECRET";
/// FreeRADIUS's status port, where the instance reads its drop counters.
pub const RADIUS_STATUS: &str = "DOTMAC_RADIUS_STATUS";
/// The OpenBao the instance keeps its secrets in (from the credentials Secret).
pub const OPENBAO_ADDR: &str = "BAO_ADDR";
/// The tenant's OpenBao namespace (`tenants/<name>`).
pub const OPENBAO_NAMESPACE: &str = "BAO_NAMESPACE";
/// The instance's AppRole role id.
pub const OPENBAO_ROLE_ID: &str = "BAO_ROLE_ID";
/// The instance's AppRole secret id.
pub const OPENBAO_SECRET_ID: &str = "BAO_SECRET_ID";
/// The KV v2 mount in the tenant's namespace.
pub const OPENBAO_KV_MOUNT: &str = "kv";
/// The folder of that mount the instance writes its own secrets to (NAS shared secrets); the
/// rest of the mount it only reads.
pub const OPENBAO_INSTANCE_FOLDER: &str = "instance";
/// The transit key the instance encrypts fields with (PPPoE passwords).
pub const OPENBAO_TRANSIT_KEY: &str = "fields";

/// The port an instance serves on.
pub const PORT: u16 = 8001;
/// The ConfigMap key holding the entitlements file.
pub const ENTITLEMENTS_KEY: &str = "entitlements.json";
/// The directory the ConfigMap's entitlements file is mounted in.
pub const CONFIG_DIR: &str = "/etc/dotmac";
/// The entitlements file's path inside the instance's container.
pub const ENTITLEMENTS_PATH: &str = "/etc/dotmac/entitlements.json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entitlements_path_is_the_mounted_key() {
        assert_eq!(
            ENTITLEMENTS_PATH,
            format!("{CONFIG_DIR}/{ENTITLEMENTS_KEY}")
        );
    }
}
