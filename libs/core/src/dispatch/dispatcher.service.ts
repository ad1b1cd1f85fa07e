import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import {
  assertCircuitPolicy,
  CircuitPolicy,
  inFlightPresumedLostAfterMs,
  PrioritySchedule,
  prioritySchedule,
} from '@tern/delivery-rules';
import { Queue } from 'bullmq';
import { withTimeout } from '../common/with-timeout';
import { DeliveryObserver } from '../delivery/delivery-observer';
import { EndpointConfigCache } from '../delivery/endpoint-config-cache';
import { EndpointsService } from '../endpoints/endpoints.service';
import {
  DELIVERY_QUEUE,
  deliveryJob,
  DISPATCH_CHANNEL,
  ENDPOINT_CHANGED_CHANNEL,
} from '../queue/queue.constants';
import { DispatchCycle, DispatchRepository } from './dispatch.repository';
import { PgListener } from './pg-listener';

/** Longest a cycle's transaction may take (it includes the BullMQ addBulk). */
const CYCLE_TIMEOUT_MS = 20_000;
const ADD_BULK_TIMEOUT_MS = 10_000;

/**
 * Releases deliveries to BullMQ per endpoint, before any job exists: only what an endpoint may take now (its
 * in-flight credits and rate tokens, across all workers), shared fairly between applications. One per worker
 * process; several share the work safely (endpoint state rows FOR UPDATE SKIP LOCKED).
 * Woken by NOTIFY (ingest, actions), by this process's recorded attempts (credits returned), by a timer set to the
 * next retry falling due, and by a poll (DISPATCH_INTERVAL_MS). Runs cycles back to back while there is more.
 * Also forwards endpoint-change notifications to the endpoint config cache.
 */
@Injectable()
export class DispatcherService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DispatcherService.name);
  private listener: PgListener | null = null;
  private poll: NodeJS.Timeout | null = null;
  private dueTimer: NodeJS.Timeout | null = null;
  private dueAt = Infinity;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private rotation = 0;
  private readonly circuit: CircuitPolicy;
  private readonly priorities: PrioritySchedule;

  constructor(
    private readonly config: AppConfig,
    private readonly repo: DispatchRepository,
    private readonly cache: EndpointConfigCache,
    private readonly endpoints: EndpointsService,
    @InjectQueue(DELIVERY_QUEUE) private readonly queue: Queue,
    private readonly observer: DeliveryObserver,
  ) {
    this.circuit = {
      failureThreshold: config.CIRCUIT_FAILURE_THRESHOLD,
      failureMinMs: config.CIRCUIT_FAILURE_MIN_SECONDS * 1000,
      cooldownMinMs: config.CIRCUIT_COOLDOWN_MIN_SECONDS * 1000,
      cooldownMaxMs: config.CIRCUIT_COOLDOWN_MAX_SECONDS * 1000,
      // A probe unanswered this long (its attempt presumed lost) is followed by another.
      probeTimeoutMs: inFlightPresumedLostAfterMs({
        attemptTimeoutMs: config.DELIVERY_ATTEMPT_TIMEOUT_MS,
        graceMs: config.RECONCILER_GRACE_MS,
      }),
    };
    // Fails the start with the setting named (e.g. a maximum cool-down below the minimum).
    assertCircuitPolicy(this.circuit);
    this.priorities = prioritySchedule({
      high: config.PRIORITY_WEIGHT_HIGH,
      normal: config.PRIORITY_WEIGHT_NORMAL,
      low: config.PRIORITY_WEIGHT_LOW,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.stopped = false;
    this.listener = new PgListener(
      this.config.DATABASE_URL,
      [DISPATCH_CHANNEL, ENDPOINT_CHANGED_CHANNEL],
      (channel, payload) => {
        if (channel === DISPATCH_CHANNEL) this.wake();
        else this.cache.invalidate(payload);
      },
      (err) => this.logger.warn(`LISTEN connection: ${err.message}`),
    );
    await this.listener.start();
    this.poll = setInterval(() => this.wake(), this.config.DISPATCH_INTERVAL_MS);
    this.wake();
  }

  /** Stop releasing; let a cycle in progress finish. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    if (this.dueTimer) clearTimeout(this.dueTimer);
    await this.listener?.stop();
    await this.running;
  }

  /** Asks for a cycle soon (coalesced: one runs at a time, one more is queued at most). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Cycles until one says there is no more; then waits for the next retry to fall due (or a wake-up). */
  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        const cycle = await this.releaseOnce();
        await this.afterCycle(cycle);
        if (!cycle.more) {
          if (cycle.nextDueInMs !== null) this.wakeIn(cycle.nextDueInMs);
          return;
        }
      }
    } catch (err) {
      this.logger.error(`dispatch cycle failed (will retry on next poll): ${(err as Error).message}`);
    }
  }

  /** A timer for the earliest due time seen (an earlier one replaces a later one). */
  private wakeIn(ms: number): void {
    const at = Date.now() + ms;
    if (this.dueTimer && at >= this.dueAt) return;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueAt = at;
    this.dueTimer = setTimeout(() => {
      this.dueTimer = null;
      this.dueAt = Infinity;
      this.wake();
    }, ms + 1);
    this.dueTimer.unref();
  }

  private async afterCycle(cycle: DispatchCycle): Promise<void> {
    this.observer.deliveriesReleased(cycle.released);
    this.observer.operationalEventsWritten(cycle.operationalEvents);
    for (const c of cycle.circuits) {
      this.observer.circuitChanged(c.transition);
      this.logger.warn(`endpoint ${c.endpointId}: circuit ${c.transition}`);
    }
    for (const id of cycle.toDisable) {
      if (await this.endpoints.disableForFailing(id)) {
        this.observer.endpointDisabledForFailing();
        this.cache.invalidate(id);
        this.logger.warn(
          `endpoint ${id} disabled: failing with no success for ${this.config.ENDPOINT_DISABLE_AFTER_SECONDS} s`,
        );
      }
    }
  }

  releaseOnce(): Promise<DispatchCycle> {
    this.rotation = (this.rotation + 1) % 1_000_000;
    return this.repo.releaseOnce(
      {
        budget: this.config.DISPATCH_BATCH_SIZE,
        endpoints: this.config.DISPATCH_ENDPOINTS_PER_CYCLE,
        defaultMaxInFlight: this.config.ENDPOINT_MAX_IN_FLIGHT,
        perJob: this.config.DELIVERY_JOB_MAX_DELIVERIES,
        rotation: this.rotation,
        priorities: this.priorities,
        circuit: this.circuit,
        disableAfterMs: this.config.ENDPOINT_DISABLE_AFTER_SECONDS * 1000,
        deadlineSeconds: this.config.DELIVERY_DEADLINE_SECONDS,
      },
      async (batches) => {
        await withTimeout(
          this.queue.addBulk(
            batches.map((b) =>
              deliveryJob({ endpointId: b.endpointId, deliveries: b.deliveries }, b.releasedAtMs),
            ),
          ),
          ADD_BULK_TIMEOUT_MS,
          'Redis addBulk',
        );
      },
      CYCLE_TIMEOUT_MS,
    );
  }
}
