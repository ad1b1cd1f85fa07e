import { OPERATIONAL_EVENT } from '../operational/operational-events.model';

/**
 * The failure streak advanced inside record()'s statement: SQL for advanceFailureStreak of @tern/delivery-rules
 * (the reference; test/repositories/delivery-attempts.repository.e2e-spec.ts checks the two agree on random
 * sequences). Plain text, as the other fragments.
 *
 * The applied results of an endpoint, in record order, split into segments at each success: segment k holds the
 * failures after the k-th success and is closed by the next success, if any. A closed segment's success recovers
 * when the failures before it (plus the stored streak, for segment 0) reach the threshold, or — segment 0 only —
 * when the endpoint was re-enabled. The new streak is the failures of the open segment (plus the stored streak if
 * nothing closed); any success clears the re-enable mark. `failing_since` (when the streak began) is set to the
 * statement's time when a streak starts — from 0, or after a success in these results — and cleared with it.
 *
 * CTEs, to follow others in a WITH list: `recovered_src` (endpoint.recovered rows for operationalEventCtes:
 * ref, application_id, event_type, payload) and `streak_upd` (the endpoint update). Inputs: CTE `results` (ord,
 * delivery_id, endpoint_id, number, outcome), CTE `applied` (the deliveries moved on: id, attempt_count), CTE
 * `locked` (the locked standard endpoints: id, application_id, url, failure_streak, reenabled) and `threshold`
 * (a parameter: ENDPOINT_RECOVERED_AFTER_FAILURES).
 */
export function failureStreakCtes(
  results: string,
  applied: string,
  locked: string,
  threshold: string,
): string {
  return `streak_res AS (
           SELECT r.endpoint_id, r.outcome = 'succeeded' AS ok,
                  coalesce(count(*) FILTER (WHERE r.outcome = 'succeeded') OVER (
                    PARTITION BY r.endpoint_id ORDER BY r.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                    AS seg
           FROM ${results} r
           JOIN ${applied} a ON a.id = r.delivery_id AND a.attempt_count = r.number
           WHERE r.endpoint_id IN (SELECT id FROM ${locked})
         ), streak_seg AS (
           SELECT s.endpoint_id, s.seg, bool_or(s.ok) AS closed, ep.application_id, ep.url,
                  count(*) FILTER (WHERE NOT s.ok) + CASE WHEN s.seg = 0 THEN ep.failure_streak ELSE 0 END
                    AS failures_before,
                  s.seg = 0 AND ep.reenabled AS reenabled_before
           FROM streak_res s JOIN ${locked} ep ON ep.id = s.endpoint_id
           GROUP BY s.endpoint_id, s.seg, ep.application_id, ep.url, ep.failure_streak, ep.reenabled
         ), recovered_src AS (
           SELECT endpoint_id AS ref, application_id, '${OPERATIONAL_EVENT.endpointRecovered}'::text AS event_type,
                  jsonb_build_object('endpointId', endpoint_id, 'url', url,
                                     'reason', CASE WHEN failures_before >= ${threshold}::int THEN 'failure_streak'
                                                    ELSE 're_enabled' END,
                                     'failedAttempts', failures_before) AS payload
           FROM streak_seg
           WHERE closed AND (failures_before >= ${threshold}::int OR reenabled_before)
         ), streak_upd AS (
           UPDATE endpoints e
           SET failure_streak = n.failures,
               -- The streak began now if it restarted in these results (a success) or was 0; else it goes on.
               failing_since = CASE WHEN n.failures = 0 THEN NULL
                                    WHEN n.any_closed OR e.failure_streak = 0 OR e.failing_since IS NULL THEN now()
                                    ELSE e.failing_since END,
               reenabled_at = CASE WHEN n.any_closed THEN NULL ELSE e.reenabled_at END
           FROM (SELECT endpoint_id, bool_or(closed) AS any_closed,
                        coalesce(sum(failures_before) FILTER (WHERE NOT closed), 0)::int AS failures
                 FROM streak_seg GROUP BY endpoint_id) n
           WHERE e.id = n.endpoint_id
             AND (e.failure_streak <> n.failures OR (n.any_closed AND e.reenabled_at IS NOT NULL)
                  OR (n.any_closed AND n.failures > 0))
           RETURNING e.id
         )`;
}
