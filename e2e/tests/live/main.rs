//! The platform whole, driven as a user drives it: devcluster as the cluster and its node
//! (the isp-runtime image mapped to the built `dotmac-isp`), the `dotmac-operator run` binary
//! with PostgreSQL, Redis and an OpenBao dev server, kubectl for the Tenants and HTTP for the
//! instances. Needs the workspace's binaries built (`cargo build`, which `cargo nextest run
//! --workspace` does) and the service tier (`scripts/tools`, `scripts/services`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod licenses;
mod lifecycle;
mod outages;
mod radius;

use dotmac_e2e::live::Live;
