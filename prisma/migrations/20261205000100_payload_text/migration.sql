-- Event payloads are kept as the producer's JSON text, byte for byte (what is stored is what is signed and
-- delivered). Existing rows keep jsonb's rendering of them (keys reordered, one space after ":" and ","), which
-- is what they were delivered as so far.
ALTER TABLE "events" ALTER COLUMN "payload" TYPE TEXT USING "payload"::text;
