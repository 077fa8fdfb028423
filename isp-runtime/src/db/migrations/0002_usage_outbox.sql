-- Usage events waiting to be reported to the management API. Each has an idempotency key, so
-- a batch sent twice (after a timeout, a crash) is counted once there; rows stay until sent.
CREATE TABLE usage_outbox (
    id UUID PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    metric TEXT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ
);
CREATE INDEX usage_outbox_unsent ON usage_outbox (sent_at, id);
