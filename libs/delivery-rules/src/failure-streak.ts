/**
 * An endpoint's failure streak: the attempts recorded since its last success that failed (outcome retrying or
 * failed; interrupted attempts are not results and don't count), and whether it was re-enabled since that success.
 * Kept on the endpoint row and advanced by the statement that records the attempts (failure-streak.sql.ts in
 * @tern/core implements this function in SQL and is tested against it), so a crash or a Redis wipe loses nothing. A success after a long enough streak, or the first success after a re-enable, is a recovery
 * (announced as `endpoint.recovered`); every success restarts the streak, so each recovery is announced once.
 */
export interface FailureStreak {
  failures: number;
  reenabled: boolean;
}

export type RecoveryReason = 'failure_streak' | 're_enabled';

export interface Recovery {
  reason: RecoveryReason;
  /** The failed attempts the success ended. */
  failedAttempts: number;
  /** Position in `succeeded` of the success that recovered. */
  index: number;
}

/**
 * Applies attempt results, in the order they were recorded (`true` = succeeded), to a streak. `threshold`: the
 * failures after which a success counts as a recovery (ENDPOINT_RECOVERED_AFTER_FAILURES, ≥ 1).
 */
export function advanceFailureStreak(
  start: FailureStreak,
  succeeded: readonly boolean[],
  threshold: number,
): { streak: FailureStreak; recoveries: Recovery[] } {
  let { failures, reenabled } = start;
  const recoveries: Recovery[] = [];
  succeeded.forEach((ok, index) => {
    if (!ok) {
      failures += 1;
      return;
    }
    const reason: RecoveryReason | null =
      failures >= threshold ? 'failure_streak' : reenabled ? 're_enabled' : null;
    if (reason) recoveries.push({ reason, failedAttempts: failures, index });
    failures = 0;
    reenabled = false;
  });
  return { streak: { failures, reenabled }, recoveries };
}
