//! Billing: subscriptions on plans, their invoices, payments, refunds and credit notes, prepaid
//! vouchers, metered usage charges, the billing and dunning runs, and the dunning policy.

pub mod dunning;
pub mod invoices;
pub mod payments;
pub mod runs;
pub mod subscriptions;
pub mod usage_charges;
pub mod vouchers;

/// What a request carrying an `Idempotency-Key` did: recorded something new, or found what an
/// earlier request with the same key recorded.
#[derive(Debug)]
pub enum Idempotent<T> {
    /// Recorded now.
    New(T),
    /// Recorded before under the same key.
    Replayed(T),
}

impl<T> Idempotent<T> {
    /// The HTTP answer: 201 at `location` when new, 200 when replayed.
    pub fn answer<V>(
        self,
        view: impl FnOnce(T) -> V,
        location: impl FnOnce(&V) -> String,
    ) -> dotmac_web::Recorded<V> {
        match self {
            Self::New(value) => {
                let view = view(value);
                dotmac_web::Recorded::New(dotmac_web::Created::new(location(&view), view))
            }
            Self::Replayed(value) => dotmac_web::Recorded::Replayed(view(value)),
        }
    }
}
