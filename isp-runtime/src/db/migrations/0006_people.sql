-- People who sign in: staff with a role, and subscribers linked to a customer. Secrets are kept
-- only as hashes (passwords as argon2id PHC strings; session, link and recovery tokens as
-- SHA-256), except the TOTP secret, which both sides need.
CREATE TABLE accounts (
    id UUID PRIMARY KEY,
    -- staff | subscriber
    kind TEXT NOT NULL,
    -- Lower-cased; what staff sign in with (subscribers also with their portal id).
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    -- tenant_admin | manager | support | sales | technician | readonly | subscriber
    role TEXT NOT NULL,
    customer_id UUID REFERENCES customers (id),
    portal_id TEXT UNIQUE,
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
    updated_at TIMESTAMPTZ NOT NULL
);

-- Single-use recovery codes, struck off when used.
CREATE TABLE recovery_codes (
    account_id UUID NOT NULL REFERENCES accounts (id),
    code_hash TEXT NOT NULL,
    used_at TIMESTAMPTZ,
    PRIMARY KEY (account_id, code_hash)
);

-- Signed-in sessions: a browser's cookie, or a bearer token for an API client.
CREATE TABLE sessions (
    id UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts (id),
    token_hash TEXT NOT NULL UNIQUE,
    -- cookie | bearer
    kind TEXT NOT NULL,
    -- The CSRF token's hash, for cookie sessions.
    csrf_hash TEXT,
    -- Whether the second factor was given (accounts that need one and have none yet may only
    -- enrol).
    second_factor BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    user_agent TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_by_account ON sessions (account_id, created_at);

-- Failed sign-ins by subject (`account:<login>` or `address:<ip>`), whether or not the account
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
    account_id UUID NOT NULL REFERENCES accounts (id),
    -- invitation | password_reset
    purpose TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);

-- API tokens take the staff roles; `staff` was everything.
UPDATE api_tokens SET role = 'tenant_admin' WHERE role = 'staff';

-- Where each audited change came from: the caller's address and the request's trace id.
ALTER TABLE audit_log ADD COLUMN source TEXT;
ALTER TABLE audit_log ADD COLUMN trace_id TEXT;
