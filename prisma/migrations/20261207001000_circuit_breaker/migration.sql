-- Issue #11: a circuit breaker per endpoint, kept by the dispatcher in endpoint_states (see circuitAtDispatch in
-- @tern/delivery-rules). It opens after CIRCUIT_FAILURE_THRESHOLD consecutive failed attempts (the endpoint's
-- failure_streak), lets one probe through after a cool-down that doubles from CIRCUIT_COOLDOWN_MIN_SECONDS to
-- CIRCUIT_COOLDOWN_MAX_SECONDS, and closes on the probe's success. failing_since: when the dispatcher first saw the
-- endpoint failing since its last success (ENDPOINT_DISABLE_AFTER_SECONDS counts from it).
CREATE TYPE "circuit_state" AS ENUM ('closed', 'open', 'half_open');

ALTER TABLE "endpoint_states"
  ADD COLUMN "circuit_state" "circuit_state" NOT NULL DEFAULT 'closed',
  ADD COLUMN "circuit_opened_at" TIMESTAMPTZ(3),
  ADD COLUMN "circuit_next_probe_at" TIMESTAMPTZ(3),
  ADD COLUMN "circuit_cooldown_ms" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "circuit_probe_streak" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "failing_since" TIMESTAMPTZ(3);
