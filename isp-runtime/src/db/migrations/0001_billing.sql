-- Customers, plans, subscriptions, billing, payments and dunning.
-- One script for PostgreSQL and SQLite: ids are UUIDs made by the application, money is
-- BIGINT minor units, rates are parts per million, dates are DATE and instants TIMESTAMPTZ.

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('customer', 0), ('invoice', 0), ('payment', 0), ('credit_note', 0);

CREATE TABLE customers (
    id UUID PRIMARY KEY,
    customer_number TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    customer_type TEXT NOT NULL,
    status TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT,
    street TEXT,
    city TEXT,
    region TEXT,
    postal_code TEXT,
    country TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX customers_status ON customers (status);

CREATE TABLE plans (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    service_type TEXT NOT NULL,
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    billing_cycle TEXT NOT NULL,
    download_mbps INTEGER,
    upload_mbps INTEGER,
    data_allowance_gb INTEGER,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE subscriptions (
    id UUID PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers (id),
    plan_id UUID NOT NULL REFERENCES plans (id),
    status TEXT NOT NULL,
    price_override BIGINT,
    discount_ppm BIGINT NOT NULL,
    suspended_reason TEXT,
    activated_on DATE,
    cancelled_on DATE,
    next_billing_date DATE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);
CREATE INDEX subscriptions_plan_status ON subscriptions (plan_id, status);

CREATE TABLE tax_rates (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    region TEXT,
    rate_ppm BIGINT NOT NULL,
    compound BOOLEAN NOT NULL,
    priority INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tax_rates_place ON tax_rates (country, region);

CREATE TABLE invoices (
    id UUID PRIMARY KEY,
    number TEXT UNIQUE,
    customer_id UUID NOT NULL REFERENCES customers (id),
    subscription_id UUID REFERENCES subscriptions (id),
    kind TEXT NOT NULL,
    period_start DATE,
    period_end DATE,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    issue_date DATE,
    due_date DATE,
    subtotal BIGINT NOT NULL,
    discount BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    total BIGINT NOT NULL,
    amount_paid BIGINT NOT NULL,
    amount_credited BIGINT NOT NULL,
    amount_refunded BIGINT NOT NULL,
    amount_due BIGINT NOT NULL,
    billing_run_id UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
-- Exactly one recurring invoice per subscription and period: what makes a billing run safe to
-- restart after a crash.
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (subscription_id, period_start) WHERE kind = 'recurring';
CREATE INDEX invoices_customer ON invoices (customer_id, created_at);
CREATE INDEX invoices_status_due ON invoices (status, due_date);

CREATE TABLE invoice_lines (
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    position INTEGER NOT NULL,
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    gross BIGINT NOT NULL,
    discount BIGINT NOT NULL,
    net BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    total BIGINT NOT NULL,
    taxes JSONB NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

CREATE TABLE payments (
    id UUID PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    customer_id UUID NOT NULL REFERENCES customers (id),
    amount BIGINT NOT NULL,
    amount_refunded BIGINT NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    reference TEXT,
    idempotency_key TEXT UNIQUE,
    received_on DATE NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX payments_invoice ON payments (invoice_id);

CREATE TABLE refunds (
    id UUID PRIMARY KEY,
    payment_id UUID NOT NULL REFERENCES payments (id),
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE credit_notes (
    id UUID PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    customer_id UUID NOT NULL REFERENCES customers (id),
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE late_fees (
    id UUID PRIMARY KEY,
    invoice_id UUID NOT NULL UNIQUE REFERENCES invoices (id),
    fee_invoice_id UUID NOT NULL REFERENCES invoices (id),
    amount BIGINT NOT NULL,
    days_overdue INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE dunning_policies (
    id INTEGER PRIMARY KEY,
    enabled BOOLEAN NOT NULL,
    late_fee_bps BIGINT NOT NULL,
    late_fee_min BIGINT NOT NULL,
    late_fee_max BIGINT NOT NULL,
    grace_days BIGINT NOT NULL,
    suspend_after_days BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- What a dunning run did, once each: the key names the action and its target.
CREATE TABLE dunning_actions (
    id UUID PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    run_id UUID,
    action TEXT NOT NULL,
    customer_id UUID NOT NULL,
    invoice_id UUID,
    subscription_id UUID,
    created_at TIMESTAMPTZ NOT NULL
);

-- Billing and dunning runs: queued, running, succeeded or failed, with progress counts.
CREATE TABLE runs (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    as_of DATE NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    processed BIGINT NOT NULL,
    created BIGINT NOT NULL,
    error TEXT,
    lease_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ
);

CREATE TABLE audit_log (
    id UUID PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    detail JSONB NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
