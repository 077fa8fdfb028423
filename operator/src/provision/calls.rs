//! Requests to each backend, reads and writes apart, for this process: what checking the
//! tenants' data plane costs (`dotmac_operator_backend_requests_total`).

use std::sync::atomic::{AtomicU64, Ordering};

use dotmac_web::metrics::{Exposition, Kind};

/// The backends the provisioners talk to, in the order of [`REQUESTS`].
const BACKENDS: [&str; 3] = ["PostgreSQL", "Redis", "OpenBao"];

/// `[backend][0 = read, 1 = write]`.
static REQUESTS: [[AtomicU64; 2]; 3] = [
    [AtomicU64::new(0), AtomicU64::new(0)],
    [AtomicU64::new(0), AtomicU64::new(0)],
    [AtomicU64::new(0), AtomicU64::new(0)],
];

/// Whether a request only reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// It only reads.
    Read,
    /// It changes something.
    Write,
}

fn slot(backend: &str, access: Access) -> Option<&'static AtomicU64> {
    let at = BACKENDS.iter().position(|b| *b == backend)?;
    Some(&REQUESTS[at][usize::from(access == Access::Write)])
}

/// Counts one request to `backend` (one of `PostgreSQL`, `Redis`, `OpenBao`).
pub fn count(backend: &str, access: Access) {
    if let Some(counter) = slot(backend, access) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Requests to `backend` so far.
pub fn total(backend: &str, access: Access) -> u64 {
    slot(backend, access).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// The requests family.
pub fn render(text: &mut Exposition) {
    const NAME: &str = "dotmac_operator_backend_requests_total";
    let help = "Requests to the tenants' PostgreSQL, Redis and OpenBao, by backend and access.";
    text.family(NAME, Kind::Counter, help);
    for backend in BACKENDS {
        for (access, name) in [(Access::Read, "read"), (Access::Write, "write")] {
            let labels = [("backend", backend), ("access", name)];
            text.sample(NAME, &labels, total(backend, access));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_are_counted_apart_per_backend() {
        let (reads, writes) = (total("Redis", Access::Read), total("Redis", Access::Write));
        count("Redis", Access::Read);
        count("Redis", Access::Read);
        count("Redis", Access::Write);
        assert_eq!(total("Redis", Access::Read), reads + 2);
        assert_eq!(total("Redis", Access::Write), writes + 1);
        count("Mongo", Access::Write);
        let mut text = Exposition::default();
        render(&mut text);
        let text = text.finish();
        assert!(
            text.contains(
                "dotmac_operator_backend_requests_total{backend=\"Redis\",access=\"write\"}"
            ),
            "{text}"
        );
        assert!(!text.contains("Mongo"), "{text}");
    }
}
