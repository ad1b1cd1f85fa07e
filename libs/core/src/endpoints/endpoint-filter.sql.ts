import { createHash } from 'node:crypto';

/**
 * How the fan-out statement checks that the endpoint filters it was given are still the endpoints' filters: by the
 * SHA-256 of the filter text, computed here (filterDigest) and in SQL (filterDigestSql) the same way. A difference
 * raises FILTER_CHANGED_SQLSTATE (function tern_filter_changed, migration 20261207020000_endpoint_filter), which
 * rolls the whole write back.
 */

/** SQLSTATE raised by tern_filter_changed. */
export const FILTER_CHANGED_SQLSTATE = 'TF001';

/** Hex SHA-256 of a filter's UTF-8 text; what filterDigestSql computes in Postgres. */
export function filterDigest(filterText: string): string {
  return createHash('sha256').update(filterText, 'utf8').digest('hex');
}

/** The SQL of filterDigest for the text column `column` (NULL stays NULL). */
export function filterDigestSql(column: string): string {
  return `encode(sha256(convert_to(${column}, 'UTF8')), 'hex')`;
}

/**
 * CTEs `filter_candidates` and `filter_guard` (one row): raises FILTER_CHANGED_SQLSTATE unless every live standard
 * endpoint of the applications that the query `apps` returns (one column, application ids) has exactly the filter
 * the caller used — the digest given for it in `known` (an SQL relation with columns id, digest), or no filter when
 * `known` has no row for it. Runs in the statement's snapshot, the one its fan-out reads. The endpoints are first
 * narrowed down in a MATERIALIZED CTE (a fence: the planner could otherwise evaluate the check on other
 * applications' endpoints before the join that excludes them), and the check is a CASE, so tern_filter_changed is
 * called only for a real difference.
 */
export function filterGuardCtes(apps: string, known: string): string {
  return `filter_candidates AS MATERIALIZED (
        SELECT ep.id, ${filterDigestSql('ep.filter')} AS digest, k.digest AS used
        FROM endpoints ep LEFT JOIN ${known} k ON k.id = ep.id
        WHERE ep.application_id IN (${apps}) AND ep.kind = 'standard' AND ep.deleted_at IS NULL
          AND (ep.filter IS NOT NULL OR k.id IS NOT NULL)
      ), filter_guard AS MATERIALIZED (
        SELECT count(*) FILTER (
                 WHERE CASE WHEN c.digest IS DISTINCT FROM c.used THEN tern_filter_changed(c.id) ELSE false END
               ) AS n
        FROM filter_candidates c
      )`;
}
