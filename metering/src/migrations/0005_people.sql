-- People who sign in to the management API: platform admins, and reseller users bound to a
-- Reseller. Passwords are kept as argon2id PHC strings; the TOTP secret as both sides need it.
CREATE TABLE users (
    id UUID PRIMARY KEY,
    -- Lower-cased; what they sign in with.
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    -- admin | reseller
    role TEXT NOT NULL,
    -- The Reseller a reseller user speaks for.
    reseller TEXT,
    -- invited | active | disabled
    status TEXT NOT NULL,
    password_hash TEXT,
    password_changed_at TIMESTAMPTZ,
    -- Base32; set when enrolment is confirmed. `totp_pending` holds one being enrolled.
    totp_secret TEXT,
    totp_pending TEXT,
    -- The last time step a code was accepted for; an older or equal one is a replay.
    totp_last_step BIGINT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CHECK ((role = 'reseller') = (reseller IS NOT NULL))
);

-- The sign-in tables below have the shape every instance database has too (one library,
-- dotmac-identity, reads both); `account_id` is a user's id.

-- Single-use recovery codes, struck off when used.
CREATE TABLE recovery_codes (
    account_id UUID NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at TIMESTAMPTZ,
    PRIMARY KEY (account_id, code_hash)
);

-- Signed-in sessions: a browser's cookie, or a bearer token for an API client.
CREATE TABLE sessions (
    id UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    -- cookie | bearer
    kind TEXT NOT NULL,
    -- The CSRF token's hash, for cookie sessions.
    csrf_hash TEXT,
    -- Whether the second factor was given (an admin without one yet may only enrol).
    second_factor BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    user_agent TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_by_account ON sessions (account_id, created_at);

-- Failed sign-ins by subject (`account:<email>` or `address:<ip>`), whether or not the user
-- exists, so a lockout says nothing about which do.
CREATE TABLE sign_in_failures (
    id UUID PRIMARY KEY,
    subject TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_in_failures_by_subject ON sign_in_failures (subject, at);

-- When each subject's count last started afresh: a success, or an admin lifting its lock.
CREATE TABLE sign_in_resets (
    subject TEXT PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL
);

-- Invitation and password-reset links: single use, expiring, kept as their token's hash.
CREATE TABLE account_links (
    id UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES users (id),
    -- invitation | password_reset
    purpose TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
