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
import { MicroBatcher } from '../common/micro-batcher';
import type { RecordedOutcome } from '../deliveries/delivery.model';
import { EndpointsService } from '../endpoints/endpoints.service';
import { DispatcherService } from '../dispatch/dispatcher.service';
import { DeliveryJobData, ReleasedDelivery } from '../queue/queue.constants';
import { TERN_VERSION } from '../version';
import { ATTEMPT_SENDER, AttemptSender } from './attempt-sender';
import {
  AttemptRecord,
  ClaimedDelivery,
  DeliveryAttemptsRepository,
  ExpiredClaim,
} from './delivery-attempts.repository';
import { DeliveryObserver } from './delivery-observer';
import { CachedEndpoint, EndpointConfigCache } from './endpoint-config-cache';

/** How each delivery of a job ended in this process. */
export type AttemptResult = 'succeeded' | 'failed' | 'retrying' | 'skipped';

/** Claims and results are batched: at most this many per statement, and at most this long a wait. */
export const CLAIM_BATCH = { maxSize: 200, maxWaitMs: 2 };
export const RECORD_BATCH = { maxSize: 200, maxWaitMs: 2 };

/**
 * The attempts of a job — deliveries of one endpoint released together by the dispatcher: claim each, build and
 * sign the request, send it, classify the outcome, record the attempt and what comes next (a retry waits in
 * Postgres until the dispatcher releases it again). The limits per endpoint (in flight, rate, fairness) were
 * applied before the job existed; the rules themselves live in @tern/delivery-rules.
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
  private readonly claims: MicroBatcher<ReleasedDelivery, ClaimedDelivery | ExpiredClaim | null>;
  private readonly results: MicroBatcher<AttemptRecord, boolean>;

  constructor(
    config: AppConfig,
    private readonly repo: DeliveryAttemptsRepository,
    private readonly cache: EndpointConfigCache,
    private readonly endpoints: EndpointsService,
    private readonly observer: DeliveryObserver,
    private readonly dispatcher: DispatcherService,
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
      (items) => this.repo.claim(items, this.presumedLostAfterMs),
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

  /**
   * Attempts every delivery of the job at once. Throws (so BullMQ runs the job again) if any attempt hit a fault
   * that is not an outcome (database down past the record retries); the re-run skips what was recorded.
   */
  async deliver(job: DeliveryJobData): Promise<AttemptResult[]> {
    const endpoint = await this.cache.get(job.endpointId);
    if (!endpoint || endpoint.config.deleted || endpoint.config.disabled) {
      const reason = !endpoint || endpoint.config.deleted ? 'endpoint_deleted' : 'endpoint_disabled';
      await this.repo.failWithoutAttempt(
        job.deliveries.map((d) => d.deliveryId),
        reason,
      );
      this.dispatcher.wake();
      return job.deliveries.map(() => 'skipped');
    }
    const settled = await Promise.allSettled(job.deliveries.map((d) => this.attempt(d, endpoint)));
    // Recorded attempts gave their credits back: the dispatcher may release more of this endpoint. (Once per job:
    // waking it per recorded attempt measured +10 % on an ordered endpoint, within noise, for more cycles.)
    this.dispatcher.wake();
    const fault = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (fault) throw fault.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<AttemptResult>).value);
  }

  private async attempt(d: ReleasedDelivery, endpoint: CachedEndpoint): Promise<AttemptResult> {
    // A second job for a delivery this process is attempting (a stalled job handed back): the attempt in flight
    // records it.
    if (this.deliveriesInFlight.has(d.deliveryId)) {
      this.observer.claimSkipped();
      return 'skipped';
    }
    const endpointId = endpoint.config.id;
    this.inFlight.set(endpointId, (this.inFlight.get(endpointId) ?? 0) + 1);
    this.deliveriesInFlight.add(d.deliveryId);
    this.observer.attemptStarted();
    try {
      const claim = await this.claims.add(d);
      if (!claim) return 'skipped';
      if ('expired' in claim) {
        this.observer.deliveriesExpired([claim.expired]);
        return 'failed';
      }
      return await this.send(claim, endpoint.config.url, endpoint.config.headers, endpoint.secrets);
    } finally {
      this.deliveriesInFlight.delete(d.deliveryId);
      this.observer.attemptEnded();
      const n = (this.inFlight.get(endpointId) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(endpointId);
      else this.inFlight.set(endpointId, n);
    }
  }

  private async send(
    claim: ClaimedDelivery,
    url: string,
    customHeaders: Record<string, string>,
    secrets: string[],
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
      return 'skipped';
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
    return outcome === 'succeeded' || outcome === 'retrying' ? outcome : 'failed';
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
