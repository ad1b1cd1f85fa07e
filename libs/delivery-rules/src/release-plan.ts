import { endpointCredits, fairShare } from './fair-share';

/**
 * What the dispatcher releases in one cycle: pure, so the dispatcher does only I/O. Limits per endpoint, in force
 * across every worker because one dispatcher at a time holds an endpoint (its state row, FOR UPDATE SKIP LOCKED):
 * - in flight: released and not yet recorded ≤ maxInFlight;
 * - circuit: nothing while open, one probe when half-open (circuitAtDispatch);
 * - rate: a token bucket of `rateLimitPerSecond` tokens refilled continuously, holding at most one second's worth
 *   (so a burst never exceeds the limit within any second after an idle spell); a release spends a token;
 * - the cycle's budget, shared between applications by fairShare (equal shares, rotating remainder), then within an
 *   application equally between its endpoints.
 */

/** An endpoint's rate bucket as stored (endpoint_states.rate_tokens, rate_at). */
export interface RateBucket {
  tokens: number;
  /** When `tokens` was computed; null for a bucket never used (full). */
  at: Date | null;
}

/** Tokens in the bucket at `now` (fractional). */
export function rateTokensAt(b: RateBucket, perSecond: number, now: Date): number {
  if (!(perSecond > 0)) throw new RangeError(`perSecond must be > 0 (got ${perSecond})`);
  if (b.at === null) return perSecond;
  const elapsedS = Math.max(0, now.getTime() - b.at.getTime()) / 1000;
  return Math.min(perSecond, Math.max(0, b.tokens) + elapsedS * perSecond);
}

export interface ReleaseCandidate {
  endpointId: string;
  applicationId: string;
  maxInFlight: number;
  /** Released deliveries of the endpoint not yet recorded. */
  inFlight: number;
  /** Due, releasable deliveries (counted up to some cap: more than can be granted needs no exact figure). */
  due: number;
  /** Null: no rate limit. */
  rateLimitPerSecond: number | null;
  bucket: RateBucket;
  /** From circuitAtDispatch: Infinity while closed, 1 for a probe, 0 while open. */
  circuitAllowance: number;
}

export interface EndpointRelease {
  endpointId: string;
  /** How many deliveries to release now. */
  n: number;
  /** The bucket's tokens at `now` before this release (the dispatcher subtracts what it actually released). */
  tokens: number;
}

export function planRelease(
  candidates: readonly ReleaseCandidate[],
  budget: number,
  now: Date,
  rotation = 0,
): EndpointRelease[] {
  const tokens = new Map<string, number>();
  const want = new Map<string, number>();
  for (const c of candidates) {
    const t = c.rateLimitPerSecond === null ? Infinity : rateTokensAt(c.bucket, c.rateLimitPerSecond, now);
    tokens.set(c.endpointId, t);
    const credits = endpointCredits({
      maxInFlight: c.maxInFlight,
      inFlight: c.inFlight,
      rateTokens: t,
      circuitAllowance: c.circuitAllowance,
    });
    want.set(c.endpointId, Math.min(credits, Math.max(0, c.due)));
  }
  const byApp = new Map<string, ReleaseCandidate[]>();
  for (const c of candidates) {
    if ((want.get(c.endpointId) ?? 0) === 0) continue;
    const list = byApp.get(c.applicationId) ?? [];
    list.push(c);
    byApp.set(c.applicationId, list);
  }
  const appShares = fairShare(
    [...byApp].map(([key, eps]) => ({
      key,
      demand: eps.reduce((s, e) => s + (want.get(e.endpointId) ?? 0), 0),
    })),
    budget,
    rotation,
  );
  const out: EndpointRelease[] = [];
  for (const [app, eps] of byApp) {
    const share = appShares.get(app) ?? 0;
    const perEndpoint = fairShare(
      eps.map((e) => ({ key: e.endpointId, demand: want.get(e.endpointId) ?? 0 })),
      share,
      rotation,
    );
    for (const e of eps) {
      const n = perEndpoint.get(e.endpointId) ?? 0;
      if (n > 0) {
        const t = tokens.get(e.endpointId) ?? Infinity;
        out.push({ endpointId: e.endpointId, n, tokens: Number.isFinite(t) ? t : 0 });
      }
    }
  }
  return out;
}
