//! Network access: subscribers' routers sign in over PPPoE or IPoE through FreeRADIUS, which
//! asks this instance for everything ([`aaa`], the internal endpoints rlm_rest calls). The
//! [`nas`] registry, service [`logins`], IP address management ([`ipam`]), accounting into
//! [`sessions`], sign-in records ([`auth_log`]), where their [`secrets`] are kept, and the
//! RADIUS attributes as pure functions ([`radius`]).

pub mod aaa;
pub mod admission;
pub mod auth_log;
pub mod drops;
pub mod enforce;
pub mod entity;
pub mod interims;
pub mod ipam;
pub mod libreqos;
pub mod logins;
pub mod nas;
pub mod packet;
pub mod radius;
mod routes;
pub mod secrets;
pub mod sessions;
pub mod usage;
mod wire;

pub use routes::routes;
pub use wire::{LoginInput, NewNas, NewPool};
