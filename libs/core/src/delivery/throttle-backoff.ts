/** Shortest and longest time a job for an endpoint at its in-flight cap is put back for. */
export const THROTTLE_DELAY_MIN_MS = 1000;
export const THROTTLE_DELAY_MAX_MS = 60_000;
/** Length of the window over which bounces and completions are counted. */
export const THROTTLE_WINDOW_MS = 1000;
/** Bounces per completion tolerated before the delay grows. */
export const THROTTLE_BOUNCES_PER_COMPLETION = 4;

interface EndpointLoad {
  windowStart: number;
  bounced: number;
  completed: number;
  delayMs: number;
}

/**
 * How long to put back a job whose endpoint is at its in-flight cap. A fixed delay would make a slow endpoint with
 * a large backlog (a black hole: 20 requests in flight for 15 s each, thousands waiting) bounce thousands of jobs a
 * second through Redis and starve everyone else of CPU. Instead, per endpoint, the delay follows how many jobs
 * bounce compared with how many attempts complete: the more jobs bounce per completion, the longer they wait, so
 * bounces stay near the endpoint's real throughput. Pure bookkeeping, one instance per worker process.
 */
export class ThrottleBackoff {
  private readonly load = new Map<string, EndpointLoad>();

  constructor(private readonly now: () => number = Date.now) {}

  /** An attempt to this endpoint finished (any outcome). */
  completed(endpointId: string): void {
    const l = this.entry(endpointId);
    this.roll(l);
    l.completed++;
  }

  /** A job for this endpoint is being put back; returns for how long (ms, with ±50 % jitter). */
  bounce(endpointId: string, random = Math.random): number {
    const l = this.entry(endpointId);
    this.roll(l);
    l.bounced++;
    return Math.round(l.delayMs * (0.5 + random()));
  }

  private entry(endpointId: string): EndpointLoad {
    let l = this.load.get(endpointId);
    if (!l) {
      if (this.load.size >= 10_000) this.load.clear();
      l = { windowStart: this.now(), bounced: 0, completed: 0, delayMs: THROTTLE_DELAY_MIN_MS };
      this.load.set(endpointId, l);
    }
    return l;
  }

  delayFor(endpointId: string): number {
    return this.load.get(endpointId)?.delayMs ?? THROTTLE_DELAY_MIN_MS;
  }

  /** At the end of each window, scale the delay by bounces per tolerated bounce; forget idle endpoints. */
  private roll(l: EndpointLoad): void {
    const t = this.now();
    if (t - l.windowStart < THROTTLE_WINDOW_MS) return;
    const tolerated = THROTTLE_BOUNCES_PER_COMPLETION * l.completed + 2;
    const factor = l.bounced / tolerated;
    l.delayMs = Math.min(
      THROTTLE_DELAY_MAX_MS,
      Math.max(THROTTLE_DELAY_MIN_MS, Math.round(l.delayMs * Math.max(factor, 0.5))),
    );
    l.windowStart = t;
    l.bounced = 0;
    l.completed = 0;
  }
}
