-- The plugin a usage event counts against: the one whose feature produced it; NULL is the
-- platform's own (`core`).
ALTER TABLE usage_outbox ADD COLUMN plugin TEXT;
