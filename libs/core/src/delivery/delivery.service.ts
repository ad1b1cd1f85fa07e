import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import {
  decideAttempt,
  inFlightPresumedLostAfterMs,
  redactHeaderValues,
  recordRetryDelayMs,
  RecordRetryPolicy,
  RetryPolicy,
  signatureHeader,
} from '@tern/delivery-rules';
import { isRetryableDatabaseError } from '@tern/database';
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { MicroBatcher } from '../common/micro-batcher';
import type { RecordedOutcome } from '../deliveries/delivery.model';
import { EndpointsService } from '../endpoints/endpoints.service';
import { DeliveryJobData } from '../queue/queue.constants';
import { RedisService } from '../redis/redis.service';
import { TERN_VERSION } from '../version';
import { ATTEMPT_SENDER, AttemptSender } from './attempt-sender';
import {
  AttemptRecord,
  ClaimedDelivery,
  DeferredClaim,
  DeliveryAttemptsRepository,
  ExpiredClaim,
} from './delivery-attempts.repository';
import { DeliveryObserver } from './delivery-observer';
import { EndpointConfigCache } from './endpoint-config-cache';
import { ThrottleBackoff } from './throttle-backoff';

/** What the processor does with the job after an attempt. */
export type AttemptResult =
  | { kind: 'done'; outcome: 'succeeded' | 'failed' | 'skipped' }
  | { kind: 'retry'; at: Date }
  /** Not due yet, or another attempt of the delivery is in flight: run the job again at `at`. */
  | { kind: 'deferred'; at: Date }
  | { kind: 'throttled'; delayMs: number };

/** Claims and results are batched: at most this many per statement, and at most this long a wait. */
export const CLAIM_BATCH = { maxSize: 200, maxWaitMs: 2 };
export const RECORD_BATCH = { maxSize: 200, maxWaitMs: 2 };

/**
 * One attempt of one delivery: claim it, build and sign the request, send it, classify the outcome, record the
 * attempt and schedule what comes next. The rules themselves live in @tern/delivery-rules.
 */
@Injectable()
export class DeliveryService implements OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryService.name);
  private readonly policy: RetryPolicy;
  private readonly recordRetry: RecordRetryPolicy;
  /** After this long in flight an attempt may be taken over (inFlightPresumedLostAfterMs). */
  private readonly presumedLostAfterMs: number;
  private readonly inFlight = new Map<string, number>();
  /** Deliveries this process has an attempt of in flight (from claim to record). */
  private readonly deliveriesInFlight = new Set<string>();
  private readonly backoff = new ThrottleBackoff();
  private readonly limiters = new Map<number, RateLimiterRedis>();
  private readonly claims: MicroBatcher<string, ClaimedDelivery | ExpiredClaim | DeferredClaim | null>;
  private readonly results: MicroBatcher<AttemptRecord, boolean>;

  constructor(
    private readonly config: AppConfig,
    private readonly repo: DeliveryAttemptsRepository,
    private readonly cache: EndpointConfigCache,
    private readonly endpoints: EndpointsService,
    private readonly redis: RedisService,
    private readonly observer: DeliveryObserver,
    @Inject(ATTEMPT_SENDER) private readonly sender: AttemptSender,
  ) {
    this.policy = {
      baseDelayMs: config.RETRY_BASE_DELAY_MS,
      maxDelayMs: config.RETRY_MAX_DELAY_MS,
      jitter: config.RETRY_JITTER,
    };
    this.recordRetry = {
      baseDelayMs: config.RECORD_RETRY_BASE_DELAY_MS,
      maxDelayMs: config.RECORD_RETRY_MAX_DELAY_MS,
    };
    this.presumedLostAfterMs = inFlightPresumedLostAfterMs({
      attemptTimeoutMs: config.DELIVERY_ATTEMPT_TIMEOUT_MS,
      graceMs: config.RECONCILER_GRACE_MS,
    });
    this.claims = new MicroBatcher(
      (ids) => this.repo.claim(ids, this.presumedLostAfterMs),
      CLAIM_BATCH.maxSize,
      CLAIM_BATCH.maxWaitMs,
    );
    this.results = new MicroBatcher(
      async (rs) => {
        const r = await this.repo.record(rs);
        this.observer.operationalEventsWritten(r.operationalEvents);
        return r.applied;
      },
      RECORD_BATCH.maxSize,
      RECORD_BATCH.maxWaitMs,
    );
  }

  /** After the BullMQ worker has closed (onModuleDestroy), flush what is left and close the HTTP pools. */
  async onApplicationShutdown(): Promise<void> {
    await this.claims.drain();
    await this.results.drain();
    await this.sender.close();
  }

  /** Requests in flight from this process, per endpoint (for metrics and tests). */
  inFlightFor(endpointId: string): number {
    return this.inFlight.get(endpointId) ?? 0;
  }

  async attempt(job: DeliveryJobData): Promise<AttemptResult> {
    const endpoint = await this.cache.get(job.endpointId);
    if (!endpoint || endpoint.config.deleted || endpoint.config.disabled) {
      const reason = !endpoint || endpoint.config.deleted ? 'endpoint_deleted' : 'endpoint_disabled';
      await this.repo.failWithoutAttempt(job.deliveryId, reason);
      return { kind: 'done', outcome: 'skipped' };
    }
    if (this.deliveriesInFlight.has(job.deliveryId)) {
      // A second job for a delivery this process is attempting (a stalled job handed back, or re-enqueued after
      // Redis lost it): it waits until the attempt in flight could be presumed lost.
      this.observer.throttled('claim_deferred');
      return { kind: 'deferred', at: new Date(Date.now() + this.presumedLostAfterMs) };
    }
    const busy = this.inFlight.get(job.endpointId) ?? 0;
    if (busy >= this.config.ENDPOINT_MAX_IN_FLIGHT) {
      this.observer.throttled('endpoint_in_flight');
      return { kind: 'throttled', delayMs: this.backoff.bounce(job.endpointId) };
    }
    const limit = endpoint.config.rateLimitPerSecond;
    if (limit) {
      const wait = await this.rateLimitWait(job.endpointId, limit);
      if (wait > 0) {
        this.observer.throttled('rate_limit');
        return { kind: 'throttled', delayMs: wait };
      }
    }
    this.inFlight.set(job.endpointId, busy + 1);
    this.deliveriesInFlight.add(job.deliveryId);
    this.observer.attemptStarted();
    // The endpoint's slot is held while the delivery is claimed and the request is out, and given back as soon as
    // the response is in — recording the attempt doesn't occupy the endpoint.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.backoff.completed(job.endpointId);
      const n = (this.inFlight.get(job.endpointId) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(job.endpointId);
      else this.inFlight.set(job.endpointId, n);
    };
    try {
      const claim = await this.claims.add(job.deliveryId);
      if (!claim) return { kind: 'done', outcome: 'skipped' };
      if ('notBefore' in claim) {
        this.observer.throttled('claim_deferred');
        return { kind: 'deferred', at: claim.notBefore };
      }
      if ('expired' in claim) {
        this.observer.deliveriesExpired([claim.expired]);
        return { kind: 'done', outcome: 'failed' };
      }
      return await this.send(claim, endpoint.config.url, endpoint.config.headers, endpoint.secrets, release);
    } finally {
      this.deliveriesInFlight.delete(job.deliveryId);
      this.observer.attemptEnded();
      release();
    }
  }

  private async send(
    claim: ClaimedDelivery,
    url: string,
    customHeaders: Record<string, string>,
    secrets: string[],
    releaseEndpointSlot: () => void,
  ): Promise<AttemptResult> {
    const startedAt = new Date();
    const giveUpAt = startedAt.getTime() + this.presumedLostAfterMs;
    const body = buildBody(claim);
    const timestamp = Math.floor(startedAt.getTime() / 1000);
    const signature = signatureHeader(secrets, claim.eventId, timestamp, body);
    const headers: Record<string, string> = {
      ...customHeaders,
      'content-type': 'application/json',
      'webhook-id': claim.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    };
    const result = await this.sender.send({ url, headers, body });
    releaseEndpointSlot();
    const decision = decideAttempt(claim, result, this.policy, new Date());
    const outcome: RecordedOutcome = decision.outcome;
    const record: AttemptRecord = {
      deliveryId: claim.deliveryId,
      applicationId: claim.applicationId,
      endpointId: claim.endpointId,
      eventId: claim.eventId,
      number: claim.attemptNumber,
      claimToken: claim.claimToken,
      startedAt,
      durationMs: result.durationMs,
      url,
      // Custom header values are receiver credentials as often as not: the log keeps their names only.
      requestHeaders: {
        ...headers,
        ...redactHeaderValues(customHeaders),
        'user-agent': `Tern/${TERN_VERSION}`,
        'webhook-signature': redactSignature(signature),
      },
      responseStatus: result.statusCode ?? null,
      responseHeaders: result.responseHeaders ?? null,
      responseBody: result.responseBody ?? null,
      errorClass: result.errorClass ?? null,
      errorMessage: decision.errorMessage,
      outcome,
      nextAttemptAt: decision.nextAttemptAt,
      lastError: decision.lastError,
    };
    const recorded = await this.recordKnownResult(record, giveUpAt);
    if (!recorded) {
      this.logger.warn(
        `attempt ${claim.attemptNumber} of ${claim.deliveryId} was superseded; logged, not applied`,
      );
      return { kind: 'done', outcome: 'skipped' };
    }
    this.observer.attemptRecorded(claim, record);
    if (decision.disableEndpoint) {
      this.observer.endpointGone();
      await this.endpoints.disableForGone(
        claim.endpointId,
        `receiver answered ${result.statusCode ?? 410} Gone`,
      );
      this.cache.invalidate(claim.endpointId);
    }
    if (outcome === 'retrying' && decision.nextAttemptAt)
      return { kind: 'retry', at: decision.nextAttemptAt };
    return { kind: 'done', outcome: outcome === 'succeeded' ? 'succeeded' : 'failed' };
  }

  /**
   * Writes an attempt's result. The outcome is known (the receiver answered or didn't); only its row is missing, so
   * while Postgres is unavailable (or the write lost a deadlock) it is retried with capped backoff rather than failing the job (which would
   * log the attempt `interrupted` and send it again). Stops at `giveUpAt`, when the attempt may be presumed lost and
   * taken over; a write that lands later still logs the attempt but decides nothing (claim token).
   */
  private async recordKnownResult(record: AttemptRecord, giveUpAt: number): Promise<boolean> {
    for (let retry = 1; ; retry++) {
      try {
        return await this.results.add(record);
      } catch (err) {
        const delay = isRetryableDatabaseError(err)
          ? recordRetryDelayMs(this.recordRetry, retry, Date.now(), giveUpAt)
          : null;
        if (delay === null) throw err;
        this.observer.recordRetried();
        if (retry === 1) {
          this.logger.warn(
            `result of attempt ${record.number} of ${record.deliveryId} not written (database unavailable or deadlock); retrying`,
          );
        }
        await sleep(delay);
      }
    }
  }

  private async rateLimitWait(endpointId: string, perSecond: number): Promise<number> {
    let limiter = this.limiters.get(perSecond);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: this.redis.client,
        keyPrefix: `${this.config.QUEUE_PREFIX}:rl:${perSecond}`,
        points: perSecond,
        duration: 1,
      });
      this.limiters.set(perSecond, limiter);
    }
    try {
      await limiter.consume(endpointId, 1);
      return 0;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(10, err.msBeforeNext);
      throw err;
    }
  }
}

/** `{"type", "timestamp", "data"}`, serialised once; the payload text is inserted as stored. */
export function buildBody(c: Pick<ClaimedDelivery, 'eventType' | 'eventCreatedAt' | 'payloadJson'>): string {
  return `{"type":${JSON.stringify(c.eventType)},"timestamp":"${c.eventCreatedAt.toISOString()}","data":${c.payloadJson}}`;
}

/** Keeps the scheme of each signature entry, drops the MAC: "v1,<redacted> v1,<redacted>". */
export function redactSignature(header: string): string {
  return header
    .split(' ')
    .map((e) => `${e.split(',')[0]},[redacted]`)
    .join(' ');
}
