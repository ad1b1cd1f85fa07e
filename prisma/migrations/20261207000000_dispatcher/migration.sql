-- Issue #11: the dispatcher releases deliveries per endpoint before any job exists.
-- A delivery is releasable while it is pending, due and not released (released_at IS NULL); the dispatcher sets
-- released_at when it hands the delivery to BullMQ, and recording the attempt clears it. The released, still
-- pending rows of an endpoint are its deliveries in flight: at most its max_in_flight, across every worker.
-- The releasable set replaces the per-delivery outbox row (written with the event, read by the dispatcher): two
-- writes and two index entries fewer per delivery. Pending deliveries of an existing database are released anew;
-- their old jobs (without a release token) are skipped by the worker.
ALTER TABLE "deliveries" ADD COLUMN "released_at" TIMESTAMPTZ(3);

-- NULL: ENDPOINT_MAX_IN_FLIGHT.
ALTER TABLE "endpoints" ADD COLUMN "max_in_flight" INTEGER;

-- The dispatcher's per-endpoint state: one row per endpoint that has had work, created by the dispatcher; locked
-- FOR UPDATE SKIP LOCKED so one dispatcher at a time releases an endpoint's deliveries. Updated on every release:
-- fillfactor 70 leaves room for HOT updates.
CREATE TABLE "endpoint_states" (
    "endpoint_id" TEXT NOT NULL,
    "rate_tokens" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "rate_at" TIMESTAMPTZ(3),
    "served_at" TIMESTAMPTZ(3),
    CONSTRAINT "endpoint_states_pkey" PRIMARY KEY ("endpoint_id")
) WITH (fillfactor = 70);

ALTER TABLE "endpoint_states" ADD CONSTRAINT "endpoint_states_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Partial indexes (Prisma's schema can't express them; listed in schema.prisma's comments and in the drift test):
-- what the dispatcher may release, in release order per endpoint; and what is in flight per endpoint.
CREATE INDEX "deliveries_releasable_idx" ON "deliveries" ("endpoint_id", "next_attempt_at", "id")
  WHERE "status" = 'pending' AND "released_at" IS NULL;
CREATE INDEX "deliveries_released_idx" ON "deliveries" ("endpoint_id")
  WHERE "status" = 'pending' AND "released_at" IS NOT NULL;

DROP TABLE "outbox";
