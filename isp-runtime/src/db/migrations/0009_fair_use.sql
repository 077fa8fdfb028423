-- Data allowances on the network: what a plan does past its allowance, how much each
-- subscription used each day, and what fair use did in each of its periods.

-- throttle (to the fair-use speeds, by CoA) | bill (each GB over, as a usage charge) | none.
ALTER TABLE plans ADD COLUMN over_allowance TEXT;
ALTER TABLE plans ADD COLUMN fair_use_download_mbps INTEGER;
ALTER TABLE plans ADD COLUMN fair_use_upload_mbps INTEGER;
-- Minor units of the plan's currency per GB (10^9 octets) over the allowance.
ALTER TABLE plans ADD COLUMN overage_price_per_gb BIGINT;

-- The octets of each session already counted into network_usage.
ALTER TABLE radius_sessions ADD COLUMN counted_input BIGINT NOT NULL DEFAULT 0;
ALTER TABLE radius_sessions ADD COLUMN counted_output BIGINT NOT NULL DEFAULT 0;

-- Octets per subscription and day (UTC), from accounting.
CREATE TABLE network_usage (
    subscription_id UUID NOT NULL REFERENCES subscriptions (id),
    day DATE NOT NULL,
    input_octets BIGINT NOT NULL,
    output_octets BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, day)
);

-- Fair use in one billing period of a subscription: since when it is throttled, and how many
-- GB over the allowance have been charged (so each is charged once).
CREATE TABLE fair_use (
    subscription_id UUID NOT NULL REFERENCES subscriptions (id),
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    throttled_at TIMESTAMPTZ,
    billed_gb BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, period_start)
);
