/**
 * The per-endpoint circuit breaker, as a pure state machine (`circuitAtDispatch`). The dispatcher stores a
 * `DispatchCircuit` per endpoint (endpoint_states) and judges it at each cycle from the endpoint's failure streak,
 * which every worker's record statement keeps in Postgres:
 *
 *   closed ──(failureThreshold consecutive failed attempts, the first ≥ failureMinMs ago)──▶ open (cool-down =
 *            cooldownMinMs)
 *   open ──(now ≥ nextProbeAt: one probe released)──▶ half_open
 *   half_open ──(probe succeeded)──▶ closed (streak and cool-down reset)
 *   half_open ──(probe failed)──▶ open (cool-down doubled, capped at cooldownMaxMs)
 *   half_open ──(no probe result by nextProbeAt: its worker died)──▶ another probe may be released
 *
 * A success that lands while the circuit is open (an attempt that was in flight when it opened) closes it: the
 * endpoint answered. A failure that lands while open changes nothing but the streak.
 *
 * Why a duration as well as a count: on a busy endpoint that fails a share p of its attempts, p^threshold of its
 * attempts end a chance run of `threshold` failures (p = 0.4: one in ten thousand), so a count alone opens the
 * circuit of a working endpoint every few thousand attempts — the fault-injection suite's endpoints (a third of
 * attempts fail by plan, retries 0.2–1 s apart) opened dozens of times and their backlogs waited out cool-downs. A
 * run of failures spread over failureMinMs with no success at all is an endpoint that is down.
 */
export const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

export interface CircuitPolicy {
  /** Consecutive failed attempts that open a closed circuit (CIRCUIT_FAILURE_THRESHOLD). */
  failureThreshold: number;
  /** How long the streak must have lasted, from its first failure, to open the circuit (CIRCUIT_FAILURE_MIN_SECONDS). */
  failureMinMs: number;
  /** First cool-down (CIRCUIT_COOLDOWN_MIN_SECONDS, in ms). */
  cooldownMinMs: number;
  /** Longest cool-down (CIRCUIT_COOLDOWN_MAX_SECONDS, in ms); each failed probe doubles it up to this. */
  cooldownMaxMs: number;
  /** How long a released probe may stay unanswered before another one is allowed (≥ the attempt timeout). */
  probeTimeoutMs: number;
}

/** What changed, for the operational events `endpoint.circuit_opened` / `endpoint.circuit_closed`. */
export type CircuitTransition = 'opened' | 'reopened' | 'closed' | null;

export function assertCircuitPolicy(p: CircuitPolicy): void {
  if (!Number.isInteger(p.failureThreshold) || p.failureThreshold < 1) {
    throw new RangeError(`circuit failureThreshold must be an integer ≥ 1 (got ${p.failureThreshold})`);
  }
  if (!Number.isFinite(p.failureMinMs) || p.failureMinMs < 0) {
    throw new RangeError(`circuit failureMinMs must be ≥ 0 (got ${p.failureMinMs})`);
  }
  if (!Number.isFinite(p.cooldownMinMs) || p.cooldownMinMs <= 0) {
    throw new RangeError(`circuit cooldownMinMs must be > 0 (got ${p.cooldownMinMs})`);
  }
  if (!Number.isFinite(p.cooldownMaxMs) || p.cooldownMaxMs < p.cooldownMinMs) {
    throw new RangeError(`circuit cooldownMaxMs must be ≥ cooldownMinMs (got ${p.cooldownMaxMs})`);
  }
  if (!Number.isFinite(p.probeTimeoutMs) || p.probeTimeoutMs <= 0) {
    throw new RangeError(`circuit probeTimeoutMs must be > 0 (got ${p.probeTimeoutMs})`);
  }
}

/** The circuit as the dispatcher stores it (endpoint_states), with the failure streak it last saw at a probe. */
export interface DispatchCircuit {
  state: CircuitState;
  openedAt: Date | null;
  nextProbeAt: Date | null;
  cooldownMs: number;
  /** The endpoint's failure streak when the probe was released (half_open). */
  probeStreak: number;
}

export const CLOSED_DISPATCH_CIRCUIT: DispatchCircuit = {
  state: 'closed',
  openedAt: null,
  nextProbeAt: null,
  cooldownMs: 0,
  probeStreak: 0,
};

/** An endpoint's failure streak as the record statement keeps it: failed attempts since its last success, and
 * when the first of them was recorded (null when failures is 0). */
export interface StreakSeen {
  failures: number;
  since: Date | null;
}

/**
 * The circuit as the dispatcher sees it at the start of a cycle, from what the attempts recorded: the endpoint's
 * failure streak (kept in Postgres by every worker's record statement) and its deliveries in flight. Returns the circuit to store, how many deliveries it lets the cycle release, and
 * the transition to announce.
 * - closed: opens once the streak reaches the threshold and began at least failureMinMs ago (cool-down = the
 *   minimum);
 * - open: a success recorded meanwhile (streak back to 0: a straggler that was in flight) closes it; otherwise,
 *   once the cool-down is over and nothing is in flight, one probe is released and the circuit is half_open;
 * - half_open: the probe's result decides once nothing is in flight — streak reset → closed; streak grown →
 *   open again with the cool-down doubled (up to the maximum); unchanged (the probe was lost or interrupted) →
 *   another probe after probeTimeoutMs.
 */
export function circuitAtDispatch(
  c: DispatchCircuit,
  streak: StreakSeen,
  inFlight: number,
  now: Date,
  policy: CircuitPolicy,
): { circuit: DispatchCircuit; allowance: number; transition: CircuitTransition } {
  assertCircuitPolicy(policy);
  const t = now.getTime();
  const failureStreak = streak.failures;
  const openFor = (cooldownMs: number): DispatchCircuit => ({
    state: 'open',
    openedAt: now,
    nextProbeAt: new Date(t + cooldownMs),
    cooldownMs,
    probeStreak: failureStreak,
  });
  const probe = (from: DispatchCircuit) => ({
    circuit: {
      ...from,
      state: 'half_open' as const,
      nextProbeAt: new Date(t + policy.probeTimeoutMs),
      probeStreak: failureStreak,
    },
    allowance: 1,
    transition: null,
  });
  switch (c.state) {
    case 'closed':
      if (
        failureStreak >= policy.failureThreshold &&
        t - (streak.since ?? now).getTime() >= policy.failureMinMs
      ) {
        return { circuit: openFor(policy.cooldownMinMs), allowance: 0, transition: 'opened' };
      }
      return { circuit: c, allowance: Infinity, transition: null };
    case 'open':
      if (failureStreak === 0)
        return { circuit: CLOSED_DISPATCH_CIRCUIT, allowance: Infinity, transition: 'closed' };
      if (inFlight === 0 && c.nextProbeAt !== null && t >= c.nextProbeAt.getTime()) return probe(c);
      return { circuit: c, allowance: 0, transition: null };
    case 'half_open':
      if (inFlight === 0 && failureStreak < c.probeStreak) {
        return { circuit: CLOSED_DISPATCH_CIRCUIT, allowance: Infinity, transition: 'closed' };
      }
      if (inFlight === 0 && failureStreak > c.probeStreak) {
        const cooldown = Math.min(policy.cooldownMaxMs, Math.max(policy.cooldownMinMs, c.cooldownMs * 2));
        return {
          circuit: { ...openFor(cooldown), openedAt: c.openedAt },
          allowance: 0,
          transition: 'reopened',
        };
      }
      if (c.nextProbeAt !== null && t >= c.nextProbeAt.getTime() && inFlight === 0) return probe(c);
      return { circuit: c, allowance: 0, transition: null };
  }
}
