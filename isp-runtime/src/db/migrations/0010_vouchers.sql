-- Prepaid vouchers: codes an ISP prints or sells through shops; a subscriber pays an invoice
-- with one in the portal. Only the code's SHA-256 is kept. What an invoice does not use stays
-- on the voucher for the next one.
CREATE TABLE vouchers (
    id UUID PRIMARY KEY,
    -- V-000001: printed beside the code, and how staff and receipts name a voucher.
    number TEXT NOT NULL UNIQUE,
    -- The batch it was made in; a batch's name is used once, so a retried request cannot mint
    -- a second batch.
    batch TEXT NOT NULL,
    code_hash TEXT NOT NULL UNIQUE,
    amount BIGINT NOT NULL CHECK (amount > 0),
    amount_left BIGINT NOT NULL CHECK (amount_left >= 0 AND amount_left <= amount),
    currency TEXT NOT NULL,
    -- active (value left) | used (none left) | void (withdrawn by staff).
    status TEXT NOT NULL CHECK (status IN ('active', 'used', 'void')),
    -- The last day it can be used, when it has one.
    expires_on DATE,
    created_at TIMESTAMPTZ NOT NULL,
    -- When it was last used, or voided.
    changed_at TIMESTAMPTZ
);
CREATE INDEX vouchers_batch ON vouchers (batch, id);

INSERT INTO counters (name, value) VALUES ('voucher', 0);
