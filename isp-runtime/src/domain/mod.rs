//! Pure billing rules: money, periods and proration, pricing and tax, status machines and the
//! dunning policy. Nothing here touches the database, so every rule is unit- and
//! property-tested on its own.

pub mod dunning;
pub mod lifecycle;
pub mod money;
pub mod period;
pub mod pricing;
