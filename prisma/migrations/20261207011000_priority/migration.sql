-- Issue #12: priorities. An event carries one (default normal), and its deliveries a copy made at fan-out, so the
-- dispatcher's index can order an endpoint's releasable deliveries by it. An enum, declared highest first: it sorts
-- in that order and is readable in SQL ('high'), for the size of an int4 (index entries are 8-byte aligned: an int2
-- would save nothing). ADD COLUMN with a constant default rewrites no table.
CREATE TYPE "event_priority" AS ENUM ('high', 'normal', 'low');

ALTER TABLE "events" ADD COLUMN "priority" "event_priority" NOT NULL DEFAULT 'normal';
ALTER TABLE "deliveries" ADD COLUMN "priority" "event_priority" NOT NULL DEFAULT 'normal';

-- Where each endpoint's next release starts in the weighted round robin of the levels (splitByPriority): its own
-- position, so every endpoint goes through the whole sequence whatever other endpoints' cycles do. Updated with
-- served_at (a HOT update: no index covers it).
ALTER TABLE "endpoint_states" ADD COLUMN "priority_slot" INTEGER NOT NULL DEFAULT 0;

-- The releasable set in release order per endpoint and level: the dispatcher takes each level's share of an
-- endpoint's grant with one range scan (endpoint, level, due ≤ now), and still finds every endpoint with work by a
-- skip scan of the leading endpoint_id. Built inside the migration's transaction (CREATE INDEX CONCURRENTLY can't
-- run in one): writes to deliveries wait while it is built, which reads the table once and sorts only the
-- releasable rows (partial index).
DROP INDEX "deliveries_releasable_idx";
CREATE INDEX "deliveries_releasable_idx" ON "deliveries" ("endpoint_id", "priority", "next_attempt_at", "id")
  WHERE "status" = 'pending' AND "released_at" IS NULL;
