-- Issue #12 part 1: ordered delivery per partition key, opt-in per endpoint.
--
-- An event may carry a partition key. A delivery copies it at fan-out only when its endpoint orders by it
-- (endpoints.ordering = 'partitioned' at that moment): deliveries.partition_key IS NOT NULL means "ordered", and the
-- dispatcher releases such a delivery only when it is the first of its key not yet ended (lowest partition_seq
-- among the key's pending deliveries) and nothing of its key is in flight. partition_seq comes from one global
-- sequence, taken at ingest in request order (a batch: array order), so it orders the deliveries of a key.
CREATE TYPE "endpoint_ordering" AS ENUM ('none', 'partitioned');
CREATE TYPE "ordering_on_failure" AS ENUM ('skip', 'block');

ALTER TABLE "endpoints"
  ADD COLUMN "ordering" "endpoint_ordering" NOT NULL DEFAULT 'none',
  ADD COLUMN "on_failure" "ordering_on_failure" NOT NULL DEFAULT 'skip';

CREATE SEQUENCE "partition_seq" AS BIGINT;

ALTER TABLE "events"
  ADD COLUMN "partition_key" TEXT,
  ADD COLUMN "partition_seq" BIGINT;
ALTER TABLE "deliveries"
  ADD COLUMN "partition_key" TEXT,
  ADD COLUMN "partition_seq" BIGINT;

-- The unordered releasable set, as before (every existing row has no partition key, so the index holds the same
-- rows): the ordered deliveries are kept out of it, so the dispatcher's unordered path (skip scan, per-level range
-- scans) reads exactly the rows it may release, and an endpoint without ordering pays nothing for ordering.
-- Built inside the migration's transaction, as the priority migration did (writes to deliveries wait meanwhile).
DROP INDEX "deliveries_releasable_idx";
CREATE INDEX "deliveries_releasable_idx" ON "deliveries" ("endpoint_id", "priority", "next_attempt_at", "id")
  WHERE "status" = 'pending' AND "released_at" IS NULL AND "partition_key" IS NULL;

-- The ordered releasable set, per endpoint and key in sequence order: a skip scan over (endpoint, key) finds each
-- key's first waiting delivery with one probe per key, whatever the key's backlog.
CREATE INDEX "deliveries_partition_idx" ON "deliveries" ("endpoint_id", "partition_key", "partition_seq")
  WHERE "status" = 'pending' AND "released_at" IS NULL AND "partition_key" IS NOT NULL;

-- Keys of block-mode endpoints (on_failure = 'block') held by a delivery that failed for good: the key waits until
-- that delivery succeeds (after a redelivery) or the block is skipped (POST /v1/endpoints/:id/partitions/skip).
-- One row per blocked key: the earliest (lowest partition_seq) failed delivery of the key blocks it.
CREATE TABLE "partition_blocks" (
  "endpoint_id" TEXT NOT NULL,
  "partition_key" TEXT NOT NULL,
  "delivery_id" TEXT NOT NULL,
  "partition_seq" BIGINT NOT NULL,
  "blocked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "partition_blocks_pkey" PRIMARY KEY ("endpoint_id", "partition_key")
);
CREATE INDEX "partition_blocks_delivery_id_idx" ON "partition_blocks" ("delivery_id");
ALTER TABLE "partition_blocks" ADD CONSTRAINT "partition_blocks_endpoint_id_fkey"
  FOREIGN KEY ("endpoint_id") REFERENCES "endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "partition_blocks" ADD CONSTRAINT "partition_blocks_delivery_id_fkey"
  FOREIGN KEY ("delivery_id") REFERENCES "deliveries"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Kept by a trigger, so every path that ends a delivery (the worker's record, the deadline sweep, disable, delete,
-- a 410) blocks or unblocks its key without knowing about ordering. It fires only for ordered deliveries whose
-- status changes (WHEN clause: unordered deliveries cost one null check).
CREATE FUNCTION "partition_block_on_end"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'failed' THEN
    INSERT INTO partition_blocks (endpoint_id, partition_key, delivery_id, partition_seq)
    SELECT NEW.endpoint_id, NEW.partition_key, NEW.id, NEW.partition_seq
    FROM endpoints e WHERE e.id = NEW.endpoint_id AND e.on_failure = 'block'
    ON CONFLICT (endpoint_id, partition_key) DO UPDATE
      SET delivery_id = EXCLUDED.delivery_id, partition_seq = EXCLUDED.partition_seq, blocked_at = now()
      WHERE EXCLUDED.partition_seq < partition_blocks.partition_seq;
  ELSIF NEW.status = 'succeeded' THEN
    DELETE FROM partition_blocks b
    WHERE b.endpoint_id = NEW.endpoint_id AND b.partition_key = NEW.partition_key AND b.delivery_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "deliveries_partition_block" AFTER UPDATE OF "status" ON "deliveries"
  FOR EACH ROW WHEN (NEW.partition_key IS NOT NULL AND NEW.status IS DISTINCT FROM OLD.status)
  EXECUTE FUNCTION "partition_block_on_end"();
