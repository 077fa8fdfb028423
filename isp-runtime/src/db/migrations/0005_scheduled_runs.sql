-- The billing and dunning runs the instance started on its own schedule: one row per kind and
-- business day, claimed in the transaction that records the run, so with several replicas
-- exactly one starts each.
CREATE TABLE scheduled_runs (
    kind TEXT NOT NULL,
    as_of DATE NOT NULL,
    run_id UUID NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, as_of)
);
