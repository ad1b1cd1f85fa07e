import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { RedisService } from '../redis/redis.service';
import { parseApiKeyToken } from './api-key-token';

/**
 * Throttles guessing of API keys (the `/v1` API and dashboard sign-in share it). Two budgets of failed
 * authentications, each over a window of AUTH_FAILURE_WINDOW_SECONDS from its first failure, in Redis so every API
 * process counts together:
 * - per client IP (AUTH_FAILURES_PER_IP): one address trying many keys;
 * - per key id and client IP (AUTH_FAILURES_PER_KEY_PER_IP): one address hammering one key. Scoped to the address on
 *   purpose — a budget per key id alone would let anyone lock a tenant out of its own key by failing with its
 *   (public) id; a success clears it.
 * Once a budget is spent, the address gets 429 + Retry-After without its key being checked, until the window
 * lets it through. A request without a key is not a failed authentication (401, not counted). While Redis is
 * unreachable each process counts on its own (in memory), so throttling never becomes an outage.
 */
@Injectable()
export class AuthThrottle {
  private readonly logger = new Logger(AuthThrottle.name);
  private readonly byIp: RateLimiterAbstract;
  private readonly byKey: RateLimiterAbstract;
  private readonly ipPoints: number;
  private readonly keyPoints: number;

  constructor(
    private readonly redis: RedisService,
    config: AppConfig,
  ) {
    const duration = config.AUTH_FAILURE_WINDOW_SECONDS;
    this.ipPoints = config.AUTH_FAILURES_PER_IP;
    this.keyPoints = config.AUTH_FAILURES_PER_KEY_PER_IP;
    const limiter = (name: string, points: number) =>
      new RateLimiterRedis({
        storeClient: redis.client,
        keyPrefix: `${config.QUEUE_PREFIX}:auth-fail:${name}`,
        points,
        duration,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: `auth-fail:${name}`, points, duration }),
      });
    this.byIp = limiter('ip', this.ipPoints);
    this.byKey = limiter('key', this.keyPoints);
  }

  /**
   * Whether the address may present `token` now: `waitMs` > 0 when a budget is spent (answer 429), and whether a
   * success would have a key budget to clear (so a success with a clean budget costs no further Redis call).
   */
  async check(ip: string, token: string): Promise<ThrottleCheck> {
    const key = keyOf(ip, token);
    // Almost every request comes from an address with no failures: one MGET of both counters settles it (the
    // limiters' own reads are a MULTI of GET + PTTL each — four times the commands, on every /v1 request).
    if ((await this.anyFailures(ip, key)) === false) return { waitMs: 0, keyBudgetSpent: false };
    const [ip$, key$] = await Promise.all([
      this.safely(() => this.byIp.get(ip)),
      key ? this.safely(() => this.byKey.get(key)) : null,
    ]);
    let waitMs = 0;
    if (ip$ && ip$.consumedPoints >= this.ipPoints) waitMs = Math.max(waitMs, ip$.msBeforeNext);
    if (key$ && key$.consumedPoints >= this.keyPoints) waitMs = Math.max(waitMs, key$.msBeforeNext);
    return { waitMs, keyBudgetSpent: (key$?.consumedPoints ?? 0) > 0 };
  }

  /** Counts a presented key that did not authenticate against both budgets. */
  async failed(ip: string, token: string): Promise<void> {
    const key = keyOf(ip, token);
    await Promise.all([this.spend(this.byIp, ip), key ? this.spend(this.byKey, key) : Promise.resolve()]);
  }

  /** A key that authenticated clears its own budget at that address (not the address's), if it spent any. */
  async succeeded(ip: string, token: string, checked: ThrottleCheck): Promise<void> {
    const key = keyOf(ip, token);
    if (key && checked.keyBudgetSpent) await this.safely(() => this.byKey.delete(key));
  }

  /**
   * Whether either budget has failures on it in Redis; null when Redis can't say (the limiters then answer from
   * their in-memory insurance).
   */
  private async anyFailures(ip: string, key: string | null): Promise<boolean | null> {
    const keys = [this.byIp.getKey(ip), ...(key ? [this.byKey.getKey(key)] : [])];
    try {
      const counters = await this.redis.client.mget(keys);
      return counters.some((c) => c !== null);
    } catch {
      return null;
    }
  }

  private async spend(limiter: RateLimiterAbstract, key: string): Promise<void> {
    // Spending past the budget rejects with the limiter's state: that is the point, not an error.
    await limiter.penalty(key, 1).catch((err: unknown) => this.warn(err));
  }

  private async safely<T>(f: () => Promise<T>): Promise<T | null> {
    try {
      return await f();
    } catch (err) {
      this.warn(err);
      return null;
    }
  }

  private warn(err: unknown): void {
    this.logger.warn(`authentication throttle unavailable (requests are not throttled): ${String(err)}`);
  }
}

/** What AuthThrottle.check found. */
export interface ThrottleCheck {
  /** How long the address must wait before presenting the key again; 0: it may try now. */
  waitMs: number;
  /** The key's budget at this address has failures on it (a success clears them). */
  keyBudgetSpent: boolean;
}

/** Retry-After for a wait: whole seconds, at least 1. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/** The per-key budget's key: the key id (public part) and the address; none for tokens that aren't API keys. */
function keyOf(ip: string, token: string): string | null {
  const keyId = parseApiKeyToken(token)?.keyId;
  return keyId ? `${keyId}@${ip}` : null;
}
