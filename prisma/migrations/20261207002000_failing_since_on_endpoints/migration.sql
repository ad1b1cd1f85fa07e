-- Issue #11: when an endpoint's failure streak began moves from endpoint_states (where the dispatcher marked it when
-- it first saw the streak, and so missed a success and a new failure recorded between two of its cycles) to
-- endpoints, next to failure_streak, kept by the statement that records the attempts: set when a streak starts,
-- cleared by a success. The circuit opens only on a streak of CIRCUIT_FAILURE_THRESHOLD failures that has lasted
-- CIRCUIT_FAILURE_MIN_SECONDS; ENDPOINT_DISABLE_AFTER_SECONDS counts from it.
ALTER TABLE "endpoints" ADD COLUMN "failing_since" TIMESTAMPTZ(3);

UPDATE "endpoints" e
SET "failing_since" = coalesce(s."failing_since", now())
FROM "endpoint_states" s
WHERE s."endpoint_id" = e."id" AND e."failure_streak" > 0;

UPDATE "endpoints" SET "failing_since" = now() WHERE "failure_streak" > 0 AND "failing_since" IS NULL;

ALTER TABLE "endpoint_states" DROP COLUMN "failing_since";

-- The dispatcher also judges circuits that are not closed once their endpoint has succeeded (a probe that emptied
-- the backlog), so they close: a small set, found through this index.
CREATE INDEX "endpoint_states_circuit_idx" ON "endpoint_states" ("endpoint_id") WHERE "circuit_state" <> 'closed';
