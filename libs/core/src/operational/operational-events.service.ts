import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { newId } from '../common/ids';
import { MicroBatcher } from '../common/micro-batcher';
import { EndpointKind } from '../endpoints/endpoints.repository';
import { EventsRepository, NewEventRow } from '../events/events.repository';
import { RedisService } from '../redis/redis.service';
import { OperationalEventsRepository } from './operational-events.repository';

/** The operational events Tern sends to an application's operational endpoints. */
export const OPERATIONAL_EVENT = {
  endpointDisabled: 'endpoint.disabled',
  deliveryFailed: 'delivery.failed',
  endpointRecovered: 'endpoint.recovered',
} as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT)[keyof typeof OPERATIONAL_EVENT];

/** The endpoint an operational event is about. Only standard endpoints ever have events sent about them. */
export interface EndpointRef {
  id: string;
  applicationId: string;
  url: string;
  kind: EndpointKind;
}

/** A delivery that ended failed for good. */
export interface FailedDeliveryRef {
  deliveryId: string;
  applicationId: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  endpointUrl: string;
  endpointKind: EndpointKind;
  /** Attempts made (interrupted ones included). */
  attempts: number;
  lastError: string | null;
  lastStatusCode: number | null;
}

/** An endpoint's failure streak, read (and reset) when an attempt succeeds. */
interface StreakState {
  failures: number;
  reenabled: boolean;
}

/** Failure streaks and re-enable markers live in Redis this long after their last change. */
const STREAK_TTL_MS = 7 * 86_400_000;
const WRITE_BATCH = { maxSize: 200, maxWaitMs: 5 };
const STREAK_BATCH = { maxSize: 500, maxWaitMs: 2 };

/**
 * Operational events: Tern's own events about an application's standard endpoints, sent to that application's
 * operational endpoints (kind "operational") through the usual event → deliveries → outbox path, so they are
 * signed, retried and logged like any delivery. Application events never reach operational endpoints, and nothing
 * is ever emitted about an operational endpoint or its deliveries (so operational events cannot loop).
 *
 * - `endpoint.disabled` — a standard endpoint went from enabled to disabled: by the worker on HTTP 410, or by the
 *   application (PATCH disabled: true). Payload `{endpointId, url, reason, at}`.
 * - `delivery.failed` — a delivery to a standard endpoint ended `failed` by its own attempts (a non-retryable
 *   answer, or a retryable one with no time left before its deadline) or at its deadline. Not sent for the pending
 *   deliveries failed because their endpoint was disabled or deleted. Payload `{deliveryId, eventId, eventType,
 *   endpointId, url, lastError, lastStatusCode, attempts, at}`.
 * - `endpoint.recovered` — an attempt to a standard endpoint succeeded and either the attempts to that endpoint
 *   recorded since its previous success (all deliveries, all workers; interrupted attempts not counted) were at
 *   least ENDPOINT_RECOVERED_AFTER_FAILURES failures (reason `failure_streak`), or the endpoint was re-enabled
 *   since its previous success (reason `re_enabled`). The streak restarts at every success, so each recovery is
 *   announced once. Payload `{endpointId, url, reason, failedAttempts, at}`.
 *
 * An event is written only when the application has an enabled operational endpoint subscribed to its type. It is
 * written right after the state change commits (not in its transaction): a crash in between loses it. Streaks are
 * counted in Redis (like the queue, not the record): if Redis loses them, a recovery may go unannounced.
 */
@Injectable()
export class OperationalEventsService {
  private readonly logger = new Logger(OperationalEventsService.name);
  private readonly writes: MicroBatcher<
    { applicationId: string; type: string; payloadJson: string },
    boolean
  >;
  private readonly streaks: MicroBatcher<{ endpointId: string; succeeded: boolean }, StreakState | null>;
  private lastRedisWarning = 0;
  /** Told of every operational event written (the worker's metrics). */
  onWritten: ((type: string) => void) | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly events: EventsRepository,
    private readonly repo: OperationalEventsRepository,
    private readonly redis: RedisService,
  ) {
    this.writes = new MicroBatcher((items) => this.write(items), WRITE_BATCH.maxSize, WRITE_BATCH.maxWaitMs);
    this.streaks = new MicroBatcher(
      (ops) => this.updateStreaks(ops),
      STREAK_BATCH.maxSize,
      STREAK_BATCH.maxWaitMs,
    );
  }

  /** A standard endpoint was just disabled (by the worker on 410, or by the application). */
  async endpointDisabled(endpoint: EndpointRef, reason: string | null, at = new Date()): Promise<void> {
    if (endpoint.kind !== 'standard') return;
    await this.emit(endpoint.applicationId, OPERATIONAL_EVENT.endpointDisabled, {
      endpointId: endpoint.id,
      url: endpoint.url,
      reason: reason ?? 'disabled by the application',
      at: at.toISOString(),
    });
  }

  /** A standard endpoint was just re-enabled: its next success announces endpoint.recovered. */
  async endpointReenabled(endpoint: EndpointRef): Promise<void> {
    if (endpoint.kind !== 'standard') return;
    try {
      await this.redis.client.set(this.reenabledKey(endpoint.id), '1', 'PX', STREAK_TTL_MS);
    } catch (err) {
      this.warnRedis(err);
    }
  }

  /** A delivery ended failed for good. */
  async deliveryFailed(d: FailedDeliveryRef, at = new Date()): Promise<void> {
    if (d.endpointKind !== 'standard') return;
    await this.emit(d.applicationId, OPERATIONAL_EVENT.deliveryFailed, {
      deliveryId: d.deliveryId,
      eventId: d.eventId,
      eventType: d.eventType,
      endpointId: d.endpointId,
      url: d.endpointUrl,
      lastError: d.lastError,
      lastStatusCode: d.lastStatusCode,
      attempts: d.attempts,
      at: at.toISOString(),
    });
  }

  /** An attempt to the endpoint was recorded: keeps its failure streak; a success may announce a recovery. */
  async attemptRecorded(endpoint: EndpointRef, succeeded: boolean, at = new Date()): Promise<void> {
    if (endpoint.kind !== 'standard') return;
    let state: StreakState | null;
    try {
      state = await this.streaks.add({ endpointId: endpoint.id, succeeded });
    } catch (err) {
      this.warnRedis(err);
      return;
    }
    if (!succeeded || !state) return;
    const reason =
      state.failures >= this.config.ENDPOINT_RECOVERED_AFTER_FAILURES
        ? 'failure_streak'
        : state.reenabled
          ? 're_enabled'
          : null;
    if (!reason) return;
    await this.emit(endpoint.applicationId, OPERATIONAL_EVENT.endpointRecovered, {
      endpointId: endpoint.id,
      url: endpoint.url,
      reason,
      failedAttempts: state.failures,
      at: at.toISOString(),
    });
  }

  /**
   * Writes one operational event of the application, delivered to its enabled operational endpoints subscribed to
   * the type; nothing is written when there are none. Returns whether it was written. Never throws: the state
   * change it reports has already happened, so a failure here is logged and dropped.
   */
  async emit(applicationId: string, type: OperationalEventType, payload: object): Promise<boolean> {
    try {
      return await this.writes.add({ applicationId, type, payloadJson: JSON.stringify(payload) });
    } catch (err) {
      this.logger.warn(
        `operational event ${type} of ${applicationId} not written: ${(err as Error).message}`,
      );
      return false;
    }
  }

  private async write(
    items: { applicationId: string; type: string; payloadJson: string }[],
  ): Promise<boolean[]> {
    const subs = await this.repo.subscriptions(items.map((i) => i.applicationId));
    const wanted = items.map((i) =>
      subs.some(
        (s) =>
          s.applicationId === i.applicationId && (s.eventTypes.length === 0 || s.eventTypes.includes(i.type)),
      ),
    );
    const rows: NewEventRow[] = items
      .filter((_, k) => wanted[k])
      .map((i) => ({
        id: newId('evt'),
        applicationId: i.applicationId,
        eventType: i.type,
        payloadJson: i.payloadJson,
        idempotencyKey: null,
      }));
    if (rows.length === 0) return wanted;
    const written = await this.events.insertWithDeliveries(rows, {
      deadlineSeconds: this.config.DELIVERY_DEADLINE_SECONDS,
      endpointKind: 'operational',
    });
    if (written.some((w) => w.deliveryCount > 0)) {
      await this.events.wakeOutboxRelay().catch(() => undefined); // the relay also polls
    }
    for (const r of rows) this.onWritten?.(r.eventType);
    return wanted;
  }

  /** One pipeline per batch: a failure INCRs the streak, a success reads and clears streak and marker. */
  private async updateStreaks(
    ops: { endpointId: string; succeeded: boolean }[],
  ): Promise<(StreakState | null)[]> {
    const pipeline = this.redis.client.pipeline();
    for (const op of ops) {
      const key = this.streakKey(op.endpointId);
      if (op.succeeded) pipeline.getdel(key).getdel(this.reenabledKey(op.endpointId));
      else pipeline.incr(key).pexpire(key, STREAK_TTL_MS);
    }
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed || replies.length !== ops.length * 2) {
      throw (failed?.[0] as Error | undefined) ?? new Error('Redis pipeline returned no replies');
    }
    return ops.map((op, i) =>
      op.succeeded
        ? { failures: Number(replies[2 * i][1] ?? 0) || 0, reenabled: replies[2 * i + 1][1] !== null }
        : null,
    );
  }

  private streakKey(endpointId: string): string {
    return `${this.config.QUEUE_PREFIX}:ops:failures:${endpointId}`;
  }

  private reenabledKey(endpointId: string): string {
    return `${this.config.QUEUE_PREFIX}:ops:reenabled:${endpointId}`;
  }

  /** At most one warning a minute: Redis being down is reported by /readyz and the queue itself. */
  private warnRedis(err: unknown): void {
    if (Date.now() - this.lastRedisWarning < 60_000) return;
    this.lastRedisWarning = Date.now();
    this.logger.warn(`failure streaks not updated (Redis): ${(err as Error)?.message ?? String(err)}`);
  }
}
