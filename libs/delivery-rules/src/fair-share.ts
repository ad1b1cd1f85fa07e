/**
 * How the dispatcher splits release capacity between applications: equal max-min shares (water-filling). Every
 * application with due work gets the same number of slots, except that one needing fewer gets only what it needs
 * and the rest is shared among the others again. Indivisible remainders go round-robin from `rotation`, which the
 * caller advances each cycle, so no application is favoured by its position. Equal, not backlog-weighted: a tenant's
 * flood must not buy it a larger share (a weighted share would hand the flooding tenant most of the machine).
 */
export interface Demand {
  key: string;
  /** Deliveries this key could take now (due work, limited by its endpoints' credits). */
  demand: number;
}

export function fairShare(demands: readonly Demand[], capacity: number, rotation = 0): Map<string, number> {
  if (!Number.isInteger(capacity) || capacity < 0) {
    throw new RangeError(`capacity must be an integer ≥ 0 (got ${capacity})`);
  }
  const granted = new Map<string, number>();
  const n = demands.length;
  if (n === 0) return granted;
  const start = ((rotation % n) + n) % n;
  const order = [...demands.slice(start), ...demands.slice(0, start)];
  const want = new Map<string, number>();
  for (const d of order) {
    if (!Number.isInteger(d.demand) || d.demand < 0) {
      throw new RangeError(`demand of ${d.key} must be an integer ≥ 0 (got ${d.demand})`);
    }
    if (want.has(d.key)) throw new RangeError(`duplicate key ${d.key}`);
    want.set(d.key, d.demand);
    granted.set(d.key, 0);
  }
  let left = capacity;
  for (;;) {
    const active = order.filter((d) => (want.get(d.key) ?? 0) > 0);
    if (left === 0 || active.length === 0) break;
    const share = Math.floor(left / active.length);
    if (share === 0) {
      for (const d of active.slice(0, left)) give(d.key, 1);
      break;
    }
    for (const d of active) give(d.key, Math.min(share, want.get(d.key) ?? 0));
  }
  return granted;

  function give(key: string, k: number): void {
    granted.set(key, (granted.get(key) ?? 0) + k);
    want.set(key, (want.get(key) ?? 0) - k);
    left -= k;
  }
}

/** Deliveries an endpoint may be sent now: its in-flight credits, its rate tokens and its circuit's allowance. */
export function endpointCredits(input: {
  maxInFlight: number;
  inFlight: number;
  /** Tokens left in the endpoint's rate bucket this second; Infinity when it has no rate limit. */
  rateTokens: number;
  /** From circuitAtDispatch(); Infinity while the circuit is closed. */
  circuitAllowance: number;
}): number {
  const c = Math.min(input.maxInFlight - input.inFlight, input.rateTokens, input.circuitAllowance);
  return Number.isFinite(c) ? Math.max(0, Math.floor(c)) : 0;
}
