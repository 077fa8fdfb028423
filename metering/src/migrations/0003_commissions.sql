-- The commission ledger: one row per reseller and calendar month (`2026-11`). While its month
-- runs, the row follows the reseller's monthly recurring revenue; once the month is over the
-- row is no longer written and stands as that month's accrual.
CREATE TABLE commission_ledger (
    reseller TEXT NOT NULL,
    period TEXT NOT NULL,
    currency TEXT NOT NULL,
    tenants BIGINT NOT NULL,
    mrr_minor BIGINT NOT NULL,
    rate_percent TEXT NOT NULL,
    commission_minor BIGINT NOT NULL,
    lines JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (reseller, period)
);
