-- What the NAS was last told for each live session, so that a change of the subscription
-- (suspended, resumed, a new plan) is sent to the NAS once: `service` (the plan's speeds),
-- `walled` (the walled-garden filter), `disconnecting` (a Disconnect-Request was acknowledged);
-- and the plan it has. Set from the Class attribute the NAS echoes from the Access-Accept.
ALTER TABLE radius_sessions ADD COLUMN applied_state TEXT;
ALTER TABLE radius_sessions ADD COLUMN applied_plan_id UUID;

-- Every CoA-Request and Disconnect-Request sent to a NAS, and its answer.
CREATE TABLE coa_requests (
    id UUID PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES radius_sessions (id),
    nas_id UUID NOT NULL REFERENCES nas (id),
    -- disconnect | coa
    kind TEXT NOT NULL,
    -- The state it brings the session to: service | walled | disconnecting.
    target TEXT NOT NULL,
    plan_id UUID,
    -- What it asks for, as `Name = value` lines (never a secret).
    attributes TEXT NOT NULL,
    -- pending | acked | naked | failed
    status TEXT NOT NULL,
    -- Transmissions so far (each retried up to three times).
    attempts INTEGER NOT NULL,
    -- The NAK's Error-Cause (RFC 5176 §3.6), or why sending failed.
    error_cause INTEGER,
    last_error TEXT,
    -- A sender holds it until then; another replica takes it over after.
    claimed_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    answered_at TIMESTAMPTZ
);
CREATE INDEX coa_requests_pending ON coa_requests (created_at) WHERE status = 'pending';
CREATE INDEX coa_requests_by_session ON coa_requests (session_id, created_at);
