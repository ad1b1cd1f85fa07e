export interface RetryPolicy {
  /** Delay before the first retry; each later one doubles. */
  baseDelayMs: number;
  /** No delay (nominal, jittered or asked for with Retry-After) is longer than this. */
  maxDelayMs: number;
  /** Fraction of random spread around the nominal delay, 0 ≤ jitter < 1 (0.2 → ±20 %). */
  jitter: number;
}

/** Matches the AppConfig defaults (RETRY_BASE_DELAY_MS, RETRY_MAX_DELAY_MS, RETRY_JITTER). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 5_000,
  maxDelayMs: 2 * 3600 * 1000,
  jitter: 0.2,
};

/** Throws a RangeError if the policy cannot produce a schedule. */
export function assertRetryPolicy(policy: RetryPolicy): void {
  const { baseDelayMs, maxDelayMs, jitter } = policy;
  if (!Number.isFinite(baseDelayMs) || baseDelayMs <= 0) {
    throw new RangeError(`retry baseDelayMs must be > 0 (got ${baseDelayMs})`);
  }
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < baseDelayMs) {
    throw new RangeError(`retry maxDelayMs must be ≥ baseDelayMs (got ${maxDelayMs})`);
  }
  if (!Number.isFinite(jitter) || jitter < 0 || jitter >= 1) {
    throw new RangeError(`retry jitter must be in [0, 1) (got ${jitter})`);
  }
}

/** The delay before retry number `retry` (1 = the first retry) without jitter: base·2^(retry−1), capped. */
export function nominalDelayMs(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
}

/**
 * When to make the next attempt after `attemptsMade` attempts (≥ 1) have failed, or null if it would start after
 * `deadline`. Delay: base·2^(attemptsMade−1) capped at maxDelayMs, spread by ±jitter (uniform, from `random`), and
 * never above maxDelayMs. A `retryAfterMs` (from the receiver's Retry-After) replaces the delay when it is longer,
 * clamped to maxDelayMs, without jitter.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  attemptsMade: number,
  now: Date,
  deadline: Date,
  retryAfterMs?: number,
  random: () => number = Math.random,
): Date | null {
  assertRetryPolicy(policy);
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`attemptsMade must be an integer ≥ 1 (got ${attemptsMade})`);
  }
  const nominal = nominalDelayMs(policy, attemptsMade);
  const spread = 1 + policy.jitter * (2 * clamp01(random()) - 1);
  let delay = Math.min(policy.maxDelayMs, Math.round(nominal * spread));
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > delay) {
    delay = Math.min(policy.maxDelayMs, Math.ceil(retryAfterMs));
  }
  const at = now.getTime() + delay;
  return at > deadline.getTime() ? null : new Date(at);
}

/**
 * The nominal (jitter-free) delays between attempts that fit in `deadlineMs` after the first attempt, assuming
 * each attempt takes no time: element i is the wait before retry i+1.
 */
export function describeSchedule(policy: RetryPolicy, deadlineMs: number): number[] {
  assertRetryPolicy(policy);
  if (!Number.isFinite(deadlineMs)) throw new RangeError(`deadlineMs must be finite (got ${deadlineMs})`);
  const delays: number[] = [];
  let elapsed = 0;
  for (let retry = 1; ; retry++) {
    const delay = nominalDelayMs(policy, retry);
    if (elapsed + delay > deadlineMs) return delays;
    elapsed += delay;
    delays.push(delay);
  }
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5;
}
