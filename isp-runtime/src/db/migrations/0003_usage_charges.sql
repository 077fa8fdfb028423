-- Usage-based charges (data overage, call minutes, …) recorded against a subscription and billed
-- in arrears: the next invoice of the subscription (recurring, or the final one on cancellation)
-- carries every charge not yet billed that occurred before its period, and links it here.
CREATE TABLE usage_charges (
    id UUID PRIMARY KEY,
    subscription_id UUID NOT NULL REFERENCES subscriptions (id),
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    occurred_on DATE NOT NULL,
    idempotency_key TEXT UNIQUE,
    invoice_id UUID REFERENCES invoices (id),
    created_at TIMESTAMPTZ NOT NULL
);
-- What the billing run looks for: a batch's range of subscriptions, charges not yet billed.
CREATE INDEX usage_charges_unbilled ON usage_charges (subscription_id, occurred_on) WHERE invoice_id IS NULL;
CREATE INDEX usage_charges_subscription ON usage_charges (subscription_id, id);
