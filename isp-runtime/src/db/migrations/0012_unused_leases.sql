-- Leases no session took up yet, by when they were given: what the enforcement tick frees
-- once they are three interim intervals old, found without reading the whole address table
-- every tick.
CREATE INDEX ip_addresses_unused_leases ON ip_addresses (assigned_at)
    WHERE subscription_id IS NOT NULL AND session_id IS NULL AND NOT static;
