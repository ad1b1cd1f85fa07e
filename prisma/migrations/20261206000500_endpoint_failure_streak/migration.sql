-- Operational events are derived from Postgres (issue #7 item 5): an endpoint's failure streak and whether it was
-- re-enabled since its last success live on the endpoint row, updated in the transaction that records attempts,
-- instead of Redis counters that a Redis wipe could lose. Existing endpoints start with an empty streak.
ALTER TABLE endpoints
  ADD COLUMN failure_streak integer NOT NULL DEFAULT 0,
  ADD COLUMN reenabled_at timestamptz(3);
