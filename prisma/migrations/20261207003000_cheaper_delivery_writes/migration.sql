-- Issue #11 item 6: cheaper writes per delivery (measured in docs/performance.md, "Postgres writes per delivery").
--
-- A delivery is updated three times on the hot path: the dispatcher's release (released_at), the worker's claim
-- (in_flight_since, attempt_count, updated_at) and the record (status, released_at, next_attempt_at, ...). An
-- update that changes no indexed column — partial-index predicates included — and finds room on its page is HOT:
-- no new entry in any index. The release and the record change released_at and status, which the dispatcher's
-- partial indexes need in their predicates, so they can never be HOT; the claim changes no indexed column, but
-- found its page full: each claim wrote a new entry into 12 of the 13 indexes of deliveries.
--
-- fillfactor 33: a new page is filled to a third, so it holds the inserted rows, their released versions and their
-- claimed versions. More is not enough: the claim usually starts before the dispatcher's transaction has committed
-- (the job is in Redis first) and waits on the row lock, so its snapshot can't prune the versions that release
-- made dead, and the claimed version must fit beside both. Measured (bench e2e, 20,000 deliveries): HOT share of
-- delivery updates 5 % → 33 % (every claim); at fillfactor 70 / 50 / 45 / 40 only 17 / 15 / 23 / 26 %. With the two
-- indexes dropped below, WAL per delivery 8.3 → 6.2 KB. The cost is heap space: a finished delivery's page stays
-- about a third full (simulated: ≈ 2.4 × the heap, ≈ +17 % for the table with its indexes). Pages written before
-- this migration keep their layout (nothing is rewritten).
ALTER TABLE "deliveries" SET (fillfactor = 33);

-- (status, next_attempt_at) served the retry scan of the first design (pending and due, in due order); the
-- releasable set has had its own partial index since 20261207000000_dispatcher. Its remaining readers (the deadline
-- sweep and the pending gauge, both status = 'pending'; one combined-filter plan of GET /v1/deliveries) use
-- deliveries_status_created_at_id_idx or the filter's own index instead: same cost, one index entry fewer per
-- delivery version.
DROP INDEX IF EXISTS "deliveries_status_next_attempt_at_idx";

-- GET /v1/attempts?eventId= now finds an event's attempts through its deliveries
-- (deliveries_event_id_endpoint_id_key, then attempts_delivery_id_number_idx; an event has a few deliveries): one
-- index entry fewer per attempt.
DROP INDEX IF EXISTS "attempts_event_id_started_at_id_idx";
