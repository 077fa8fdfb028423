//! Where the service tier of the tests (and the benchmarks) finds PostgreSQL and Redis.
//!
//! `DOTMAC_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`, a
//! superuser without a password) and `DOTMAC_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`) name them; tests create their own databases and key prefixes on
//! them. A plain `cargo nextest run` skips the service tier (`.config/nextest.toml`);
//! `scripts/test` starts the services and runs every tier.

pub mod logs;
pub mod openbao;
pub mod smtp;

/// A name no other test run uses, for objects on the shared PostgreSQL, Redis and OpenBao:
/// `prefix`, the process id and the clock's nanoseconds, in lowercase letters and digits (a
/// valid tenant name, database name and Redis user).
#[allow(clippy::expect_used, reason = "a test helper fails loudly")]
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is past 1970")
        .subsec_nanos();
    format!(
        "{prefix}{}x{}",
        std::process::id() % 100_000,
        nanos % 100_000
    )
}

/// Polls `check` every 100 ms until it gives a value, for up to `secs` seconds; then fails
/// naming `what`. The one way tests wait for a condition instead of sleeping a fixed time.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

use std::{net::TcpStream, time::Duration};

/// PostgreSQL's admin URL: the `postgres` database as a superuser.
pub fn postgres_admin_url() -> String {
    std::env::var("DOTMAC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The admin URL with `database` in place of its database.
pub fn postgres_url(database: &str) -> String {
    with_database(&postgres_admin_url(), database)
}

fn with_database(admin: &str, database: &str) -> String {
    let (server, query) = match admin.split_once('?') {
        Some((server, query)) => (server.to_owned(), format!("?{query}")),
        None => (admin.to_owned(), String::new()),
    };
    let base = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(base, _)| base);
    format!("{base}/{database}{query}")
}

/// PostgreSQL's `host:port`, as tenant instances are told to reach it.
pub fn postgres_host() -> String {
    host_port(&postgres_admin_url())
}

/// Redis's URL.
pub fn redis_url() -> String {
    std::env::var("DOTMAC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Redis's `host:port`.
pub fn redis_host() -> String {
    host_port(&redis_url())
}

/// The `host:port` of a `scheme://[user[:password]@]host:port[/…]` URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_owned()
}

/// Panics with what is missing and how to get it unless `host:port` accepts connections, so a
/// service-tier test run without its services fails with the reason, not a driver error.
fn require(what: &str, variable: &str, host: &str) {
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(host)
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "{what} is not reachable at {host}: this test is in the service tier. Run scripts/test \
         (it starts the services), point {variable} at one, or run the unit tier alone with a \
         plain `cargo nextest run`"
    );
}

/// [`postgres_admin_url`], after checking that PostgreSQL answers.
pub fn require_postgres() -> String {
    require("PostgreSQL", "DOTMAC_TEST_POSTGRES_URL", &postgres_host());
    postgres_admin_url()
}

/// [`redis_url`], after checking that Redis answers.
pub fn require_redis() -> String {
    require("Redis", "DOTMAC_TEST_REDIS_URL", &redis_host());
    redis_url()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_hosts_are_derived_from_the_admin_url() {
        assert_eq!(
            host_port("postgres://postgres@127.0.0.1:5432/postgres"),
            "127.0.0.1:5432"
        );
        assert_eq!(host_port("redis://u:p@[::1]:6380"), "[::1]:6380");
        assert_eq!(host_port("redis://127.0.0.1:6379"), "127.0.0.1:6379");
        assert_eq!(
            with_database(
                "postgres://postgres@db:5433/postgres?sslmode=disable",
                "t_1"
            ),
            "postgres://postgres@db:5433/t_1?sslmode=disable"
        );
    }
}
