/**
 * When an attempt in flight is presumed lost. An attempt marks its delivery `in_flight_since` when claimed and
 * clears it when its result is recorded; a worker can hold it for up to the attempt timeout (the request), plus
 * the time it takes to write the result (retried while Postgres restarts). Only past this age may anyone else
 * touch the delivery: the reconciler re-enqueues it, a claim takes it over (logging the old attempt as
 * `interrupted`), the deadline sweep fails it. One definition, used by all three, so a delivery never has two
 * attempts in flight while its first holder is alive.
 */
export function inFlightPresumedLostAfterMs(s: { attemptTimeoutMs: number; graceMs: number }): number {
  return s.attemptTimeoutMs + s.graceMs;
}

/** Backoff for re-writing a known attempt result while the database is unavailable. */
export interface RecordRetryPolicy {
  /** First wait, doubled each time. */
  baseDelayMs: number;
  /** Longest single wait. */
  maxDelayMs: number;
}

/**
 * The wait before the n-th retry (1-based) of a result write, or null when retrying would run past `giveUpAt`
 * (the in-flight cutoff: after it another worker may take the delivery over, and the result no longer decides
 * anything).
 */
export function recordRetryDelayMs(
  policy: RecordRetryPolicy,
  retry: number,
  now: number,
  giveUpAt: number,
): number | null {
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return now + delay < giveUpAt ? delay : null;
}
