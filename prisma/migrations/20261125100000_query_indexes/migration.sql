-- Indexes for the delivery and attempt queries (GET /v1/deliveries, GET /v1/attempts, endpoint stats, recover).
-- Every list filter has an index whose leading columns are its equality filters, followed by the keyset order
-- (time DESC, id DESC), with and without the application. Timings: docs/query-performance.md.
-- IF NOT EXISTS: on a large install, create these by hand first with CREATE INDEX CONCURRENTLY (same names); the
-- migrator runs each migration in a transaction, where a plain CREATE INDEX blocks writes to the table meanwhile.
-- deliveries.event_id is served by the existing unique index deliveries_event_id_endpoint_id_key.

-- CreateIndex
CREATE INDEX IF NOT EXISTS "deliveries_created_at_id_idx" ON "deliveries"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "deliveries_application_id_status_created_at_id_idx" ON "deliveries"("application_id", "status", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "deliveries_status_created_at_id_idx" ON "deliveries"("status", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "deliveries_application_id_event_type_created_at_id_idx" ON "deliveries"("application_id", "event_type", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "deliveries_event_type_created_at_id_idx" ON "deliveries"("event_type", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "deliveries_endpoint_id_status_created_at_id_idx" ON "deliveries"("endpoint_id", "status", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "attempts_started_at_id_idx" ON "attempts"("started_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "attempts_event_id_started_at_id_idx" ON "attempts"("event_id", "started_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "attempts_application_id_outcome_started_at_id_idx" ON "attempts"("application_id", "outcome", "started_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "attempts_outcome_started_at_id_idx" ON "attempts"("outcome", "started_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "attempts_endpoint_id_outcome_started_at_id_idx" ON "attempts"("endpoint_id", "outcome", "started_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "attempts_application_id_response_status_started_at_id_idx" ON "attempts"("application_id", "response_status", "started_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "attempts_response_status_started_at_id_idx" ON "attempts"("response_status", "started_at" DESC, "id" DESC);
