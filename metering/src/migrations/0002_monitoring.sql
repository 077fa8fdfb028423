-- Alerts and metrics reported by tenant instances. An alert repeated within an hour of its
-- last sighting counts up on one row instead of adding rows.
CREATE TABLE alerts (
    id UUID PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    count BIGINT NOT NULL
);
CREATE INDEX alerts_tenant_name ON alerts (tenant, name, last_seen);

CREATE TABLE metrics (
    id UUID PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX metrics_tenant_name ON metrics (tenant, name, at);
