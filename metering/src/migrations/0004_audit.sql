-- Who did what to which tenant through the management API: append-only (the database refuses
-- updates and deletes), with the caller's token name, address and the request's trace id.
CREATE TABLE audit_log (
    id UUID PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    source TEXT,
    trace_id TEXT,
    action TEXT NOT NULL,
    -- The tenant the change concerns, when one does, and its reseller then (which keeps
    -- seeing the entry after the tenant is gone).
    tenant TEXT,
    reseller TEXT,
    detail JSONB NOT NULL
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant, at);
CREATE INDEX audit_log_by_reseller ON audit_log (reseller, at);
