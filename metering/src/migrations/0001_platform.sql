-- The platform database: API tokens, usage events and their rollups, health checks.
-- One script for PostgreSQL and SQLite.

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    reseller TEXT,
    tenant TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- Every usage event once: the idempotency key is what makes a resent batch count once.
CREATE TABLE usage_events (
    idempotency_key TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    metric TEXT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX usage_events_tenant ON usage_events (tenant, occurred_at);

-- Sums per tenant, plugin, metric and calendar month (`2026-11`).
CREATE TABLE usage_rollups (
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    metric TEXT NOT NULL,
    period TEXT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    events BIGINT NOT NULL,
    PRIMARY KEY (tenant, plugin, metric, period)
);

CREATE TABLE health_checks (
    id UUID PRIMARY KEY,
    tenant TEXT NOT NULL,
    status TEXT NOT NULL,
    checks JSONB NOT NULL,
    version TEXT,
    reported_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX health_checks_tenant ON health_checks (tenant, received_at);
