/**
 * The dispatcher's SQL for ordered deliveries (endpoints with ordering partitioned; issue #12 part 1), spliced
 * into CANDIDATES_SQL and RELEASE_SQL (dispatch.repository.ts), which must be `WITH RECURSIVE`.
 *
 * An ordered delivery (partition_key set at fan-out) may be released only when it is its key's head — the lowest
 * partition_seq among the key's deliveries that have not ended (pending: waiting or in flight) — and:
 * - nothing of its key is in flight (pending and released: a redelivered earlier delivery may be the head while a
 *   later one is still out);
 * - its key is not blocked by another delivery (partition_blocks: block mode, a delivery that failed for good).
 * A head not yet due (a retry's backoff) holds its key: the key's other deliveries wait behind it.
 */

/** Waiting ordered deliveries: the partial index deliveries_partition_idx (endpoint_id, partition_key, partition_seq). */
export const ORDERED_WAITING = `d.status = 'pending' AND d.released_at IS NULL AND d.partition_key IS NOT NULL`;

/**
 * CTEs `okeys` (each key's first waiting delivery: a skip scan of deliveries_partition_idx, one probe per key),
 * `obusy` (keys with a delivery in flight: through deliveries_released_idx, at most the endpoints' in-flight rows)
 * and `oheads` (id, endpoint_id, partition_key, priority, next_attempt_at: the releasable heads, due or not), for
 * the endpoints of CTE `endpoints` (column endpoint_id, no NULLs).
 */
export function orderedHeadsCtes(endpoints: string): string {
  return `okeys AS (
    SELECT h.* FROM ${endpoints} o CROSS JOIN LATERAL (
      SELECT d.id, d.endpoint_id, d.partition_key, d.priority, d.next_attempt_at FROM deliveries d
      WHERE ${ORDERED_WAITING} AND d.endpoint_id = o.endpoint_id
      ORDER BY d.partition_key, d.partition_seq LIMIT 1) h
    UNION ALL
    SELECT h.* FROM okeys k CROSS JOIN LATERAL (
      SELECT d.id, d.endpoint_id, d.partition_key, d.priority, d.next_attempt_at FROM deliveries d
      WHERE ${ORDERED_WAITING} AND d.endpoint_id = k.endpoint_id AND d.partition_key > k.partition_key
      ORDER BY d.partition_key, d.partition_seq LIMIT 1) h
  ), obusy AS MATERIALIZED (
    SELECT DISTINCT d.endpoint_id, d.partition_key FROM deliveries d
    WHERE d.endpoint_id IN (SELECT endpoint_id FROM ${endpoints})
      AND d.status = 'pending' AND d.released_at IS NOT NULL AND d.partition_key IS NOT NULL
  ), oheads AS MATERIALIZED (
    -- The head's columns come from its probe in okeys: joined to deliveries again by id, the planner (which
    -- estimates a recursive CTE at thousands of rows) chose a hash join over a sequential scan of the table
    -- (10 of a cycle's 12 ms at 20,000 rows, growing with the table).
    SELECT k.id, k.endpoint_id, k.partition_key, k.priority, k.next_attempt_at
    FROM okeys k
    WHERE NOT EXISTS (SELECT 1 FROM obusy b WHERE b.endpoint_id = k.endpoint_id AND b.partition_key = k.partition_key)
      AND NOT EXISTS (SELECT 1 FROM partition_blocks pb
                      WHERE pb.endpoint_id = k.endpoint_id AND pb.partition_key = k.partition_key
                        AND pb.delivery_id <> k.id)
  )`;
}

/** CTE `oeps`: every endpoint with waiting ordered deliveries (a skip scan of deliveries_partition_idx). */
export const ORDERED_ENDPOINTS_CTE = `oeps_scan AS (
    (SELECT d.endpoint_id FROM deliveries d WHERE ${ORDERED_WAITING} ORDER BY d.endpoint_id LIMIT 1)
    UNION ALL
    SELECT (SELECT d.endpoint_id FROM deliveries d
            WHERE ${ORDERED_WAITING} AND d.endpoint_id > s.endpoint_id ORDER BY d.endpoint_id LIMIT 1)
    FROM oeps_scan s WHERE s.endpoint_id IS NOT NULL
  ), oeps AS (SELECT endpoint_id FROM oeps_scan WHERE endpoint_id IS NOT NULL)`;
