-- Whether a stopped session's final counters are in network_usage. The usage count then reads
-- the live sessions and the stopped ones not yet counted, never every session there ever was.
ALTER TABLE radius_sessions ADD COLUMN usage_final BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE radius_sessions SET usage_final = TRUE
    WHERE stopped_at IS NOT NULL
    AND (subscription_id IS NULL OR (input_octets <= counted_input AND output_octets <= counted_output));
CREATE INDEX radius_sessions_uncounted ON radius_sessions (id)
    WHERE stopped_at IS NOT NULL AND NOT usage_final AND subscription_id IS NOT NULL;
