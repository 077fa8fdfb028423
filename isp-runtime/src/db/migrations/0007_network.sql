-- Network access: the NAS registry, each subscription's service login, IP address management,
-- RADIUS sessions from accounting, and every accept and reject. Addresses and prefixes are
-- kept in their canonical text form (`10.0.0.1`, `2001:db8::/56`), the same on both databases.

-- The routers (BNG, BRAS) that ask RADIUS. FreeRADIUS knows a NAS only through this table.
CREATE TABLE nas (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- The source address its RADIUS packets come from.
    address TEXT NOT NULL UNIQUE,
    -- The RADIUS shared secret (FreeRADIUS needs it in the clear to check packets).
    secret TEXT NOT NULL,
    -- mikrotik | cisco | juniper | generic: which attributes carry a plan's speeds.
    vendor TEXT NOT NULL,
    -- Where it takes CoA and Disconnect-Request (RFC 5176; 3799 by default).
    coa_port INTEGER NOT NULL,
    site TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Lookups from addresses that are not a registered NAS: their packets were dropped.
CREATE TABLE unknown_nas (
    address TEXT PRIMARY KEY,
    -- Lookups FreeRADIUS made for it (about one per dropped packet).
    lookups BIGINT NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);

-- How a subscription's router signs in: a PPPoE login, or IPoE by MAC address (and, when
-- given, the DHCP option-82 circuit id it must arrive on).
CREATE TABLE service_logins (
    subscription_id UUID PRIMARY KEY REFERENCES subscriptions (id),
    -- pppoe | ipoe
    kind TEXT NOT NULL,
    -- The PPPoE user name, or the MAC address (lower case, colon-separated) for IPoE.
    username TEXT NOT NULL UNIQUE,
    -- The PPPoE password, kept so that CHAP can be checked; none for IPoE.
    password TEXT,
    circuit_id TEXT,
    max_sessions INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Address pools. No two overlap (a GiST exclusion on PostgreSQL, checked in the write
-- transaction on SQLite). A pool is for one NAS, one site, or every NAS (neither).
CREATE TABLE ip_pools (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    -- 4 | 6
    family INTEGER NOT NULL,
    -- For IPv6 prefix delegation: the length of each delegated prefix; none for addresses.
    delegated_length INTEGER,
    nas_id UUID REFERENCES nas (id),
    site TEXT,
    -- Whether suspended subscribers get their address here (a walled garden).
    walled_garden BOOLEAN NOT NULL,
    -- How many addresses (or delegated prefixes) it hands out.
    size INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Every address (or delegated prefix) a pool hands out, one row each, so that one address has
-- at most one holder by construction. Network, broadcast and gateway addresses have no row.
CREATE TABLE ip_addresses (
    pool_id UUID NOT NULL REFERENCES ip_pools (id),
    -- Order within the pool: the lowest free one is handed out first.
    position INTEGER NOT NULL,
    address TEXT NOT NULL UNIQUE,
    subscription_id UUID REFERENCES subscriptions (id),
    -- Assigned for good (a static address) rather than leased at sign-in.
    static BOOLEAN NOT NULL,
    -- The RADIUS session a lease is in use by, once accounting has started it.
    session_id UUID,
    assigned_at TIMESTAMPTZ,
    PRIMARY KEY (pool_id, position),
    CHECK (NOT static OR subscription_id IS NOT NULL)
);
CREATE INDEX ip_addresses_free ON ip_addresses (pool_id, position) WHERE subscription_id IS NULL;
-- What a subscription holds, by pool: the first thing every sign-in asks.
CREATE INDEX ip_addresses_by_subscription ON ip_addresses (subscription_id, pool_id) WHERE subscription_id IS NOT NULL;

-- RADIUS sessions as accounting tells them: one row per NAS and Acct-Session-Id.
CREATE TABLE radius_sessions (
    id UUID PRIMARY KEY,
    nas_id UUID NOT NULL REFERENCES nas (id),
    acct_session_id TEXT NOT NULL,
    -- None when accounting came for a login this instance does not know (flagged).
    subscription_id UUID REFERENCES subscriptions (id),
    username TEXT NOT NULL,
    framed_address TEXT,
    calling_station TEXT,
    started_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    stopped_at TIMESTAMPTZ,
    -- Octets including the gigaword counters (RFC 2869).
    input_octets BIGINT NOT NULL,
    output_octets BIGINT NOT NULL,
    session_seconds BIGINT NOT NULL,
    -- Acct-Terminate-Cause, `nas-reboot` (Accounting-On/Off) or `stale`.
    stop_cause TEXT,
    -- unknown-login | no-start: accounting that does not match what this instance knows.
    flag TEXT,
    UNIQUE (nas_id, acct_session_id)
);
CREATE INDEX radius_sessions_live ON radius_sessions (subscription_id) WHERE stopped_at IS NULL;
CREATE INDEX radius_sessions_by_nas_live ON radius_sessions (nas_id) WHERE stopped_at IS NULL;
-- A subscription's sessions by start, latest last (the LibreQoS export reads the latest).
CREATE INDEX radius_sessions_by_subscription ON radius_sessions (subscription_id, started_at);

-- Every Access-Accept and Access-Reject, with its reason. A log: no foreign keys, whose checks
-- would lock the NAS's row for every sign-in (and a log outlives what it names).
CREATE TABLE auth_events (
    id UUID PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    nas_id UUID,
    username TEXT NOT NULL,
    subscription_id UUID,
    -- accept | reject
    outcome TEXT NOT NULL,
    -- For a reject: unknown-login | wrong-password | suspended | not-active | session-limit |
    -- no-address | wrong-circuit; for an accept: none, or walled-garden.
    reason TEXT,
    address TEXT,
    calling_station TEXT
);
CREATE INDEX auth_events_by_subscription ON auth_events (subscription_id, at);
