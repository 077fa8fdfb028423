//! Status machines of customers, subscriptions and invoices. Every status change in the
//! application goes through [`ServiceStatus::check`] or [`InvoiceStatus::check`], so an illegal
//! jump is refused in one place. They are the entities' status columns too (sea-orm active
//! enums): a stored value outside the enum is a read error, never a silent default.

use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// Status of a customer account or a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, DeriveActiveEnum)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ServiceStatus {
    /// Created, not yet in service.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// In service and billed.
    #[sea_orm(string_value = "active")]
    Active,
    /// Out of service (by staff or for non-payment), not billed.
    #[sea_orm(string_value = "suspended")]
    Suspended,
    /// Ended for good.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl std::fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transition a status machine refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot go from {from} to {to}")]
pub struct IllegalTransition {
    /// Current status.
    pub from: &'static str,
    /// Requested status.
    pub to: &'static str,
}

impl ServiceStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Active,
            Self::Suspended,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// pending → active → suspended ⇄ active; anything but cancelled → cancelled.
    pub fn check(self, to: Self) -> Result<(), IllegalTransition> {
        use ServiceStatus::*;
        let allowed = matches!(
            (self, to),
            (Pending, Active)
                | (Active, Suspended)
                | (Suspended, Active)
                | (Pending | Active | Suspended, Cancelled)
        );
        if allowed {
            Ok(())
        } else {
            Err(IllegalTransition {
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }
}

/// Status of an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, DeriveActiveEnum)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum InvoiceStatus {
    /// Editable, unnumbered, not owed.
    #[sea_orm(string_value = "draft")]
    Draft,
    /// Numbered and owed.
    #[sea_orm(string_value = "issued")]
    Issued,
    /// Owed past its due date.
    #[sea_orm(string_value = "overdue")]
    Overdue,
    /// Nothing left to pay.
    #[sea_orm(string_value = "paid")]
    Paid,
    /// Paid, then refunded in full.
    #[sea_orm(string_value = "refunded")]
    Refunded,
    /// Cancelled: never owed (a draft) or cancelled before any payment.
    #[sea_orm(string_value = "void")]
    Void,
}

impl InvoiceStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Issued => "issued",
            Self::Overdue => "overdue",
            Self::Paid => "paid",
            Self::Refunded => "refunded",
            Self::Void => "void",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Draft,
            Self::Issued,
            Self::Overdue,
            Self::Paid,
            Self::Refunded,
            Self::Void,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Whether money is owed on an invoice in this status.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Issued | Self::Overdue)
    }

    /// draft → issued | void; issued → overdue | paid | void; overdue → paid | void;
    /// paid → refunded.
    pub fn check(self, to: Self) -> Result<(), IllegalTransition> {
        use InvoiceStatus::*;
        let allowed = matches!(
            (self, to),
            (Draft, Issued | Void)
                | (Issued, Overdue | Paid | Void)
                | (Overdue, Paid | Void)
                | (Paid, Refunded)
        );
        if allowed {
            Ok(())
        } else {
            Err(IllegalTransition {
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_lifecycle() {
        use ServiceStatus::*;
        assert!(Pending.check(Active).is_ok());
        assert!(Active.check(Suspended).is_ok());
        assert!(Suspended.check(Active).is_ok());
        assert!(Suspended.check(Cancelled).is_ok());
        assert!(Pending.check(Suspended).is_err());
        assert!(Active.check(Pending).is_err());
        assert!(Active.check(Active).is_err());
        for to in [Pending, Active, Suspended, Cancelled] {
            assert!(Cancelled.check(to).is_err());
        }
    }

    #[test]
    fn invoice_lifecycle() {
        use InvoiceStatus::*;
        assert!(Draft.check(Issued).is_ok());
        assert!(Issued.check(Paid).is_ok());
        assert!(Overdue.check(Paid).is_ok());
        assert!(Paid.check(Refunded).is_ok());
        assert!(Draft.check(Paid).is_err());
        assert!(Paid.check(Void).is_err());
        assert!(Void.check(Issued).is_err());
        assert!(Refunded.check(Paid).is_err());
        assert_eq!(
            Draft.check(Paid).unwrap_err().to_string(),
            "cannot go from draft to paid"
        );
    }
}
