-- A result that arrives after its attempt was taken over (or its delivery failed or re-queued meanwhile) is logged
-- as what it was, 'superseded', not as the outcome it would have decided: a delivery has at most one 'succeeded'.
-- (A new enum value can't be used in the transaction that adds it: the backfill is the next migration.)
ALTER TYPE "attempt_outcome" ADD VALUE IF NOT EXISTS 'superseded';
