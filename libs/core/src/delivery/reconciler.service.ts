import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { inFlightPresumedLostAfterMs } from '@tern/delivery-rules';
import { Queue } from 'bullmq';
import { withTimeout } from '../common/with-timeout';
import { DELIVERY_QUEUE, deliveryJob } from '../queue/queue.constants';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository';
import { DeliveryObserver } from './delivery-observer';

/** Most deliveries one reconciler pass looks at. */
export const RECONCILE_BATCH = 1000;

/**
 * Postgres is the source of truth; Redis is transport. Periodically: re-enqueue pending deliveries that are due
 * (plus a grace period) but evidently have no live job — Redis flushed or restarted empty, or a relay crashed
 * between enqueue and commit — and fail pending deliveries past their deadline. Re-adding a job that is still live
 * is a no-op (jobId = delivery id), so every worker can run this at once.
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReconcilerService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  /** Totals since start, for metrics and tests. */
  readonly totals = { requeued: 0, expired: 0 };

  constructor(
    private readonly config: AppConfig,
    private readonly repo: DeliveryAttemptsRepository,
    @InjectQueue(DELIVERY_QUEUE) private readonly queue: Queue,
    private readonly observer: DeliveryObserver,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (!this.running) {
        this.running = this.runOnce()
          .catch((err: Error) => this.logger.error(`reconciler pass failed: ${err.message}`))
          .finally(() => (this.running = null));
      }
    }, this.config.RECONCILER_INTERVAL_MS);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async runOnce(now = new Date()): Promise<{ requeued: number; expired: number }> {
    const grace = this.config.RECONCILER_GRACE_MS;
    const lostAfterMs = inFlightPresumedLostAfterMs({
      attemptTimeoutMs: this.config.DELIVERY_ATTEMPT_TIMEOUT_MS,
      graceMs: grace,
    });
    const inFlightCutoff = new Date(now.getTime() - lostAfterMs);
    const failed = await this.repo.failPastDeadline(inFlightCutoff, RECONCILE_BATCH);
    const expired = failed.length;
    this.observer.deliveriesExpired(failed);
    const stranded = await this.repo.findStranded(
      new Date(now.getTime() - grace),
      inFlightCutoff,
      RECONCILE_BATCH,
    );
    if (stranded.length) {
      await withTimeout(this.queue.addBulk(stranded.map((s) => deliveryJob(s))), 10_000, 'Redis addBulk');
    }
    this.totals.requeued += stranded.length;
    this.totals.expired += expired;
    this.observer.reconciled(stranded.length, expired);
    if (stranded.length || expired) {
      this.logger.log(`reconciler: ${stranded.length} re-enqueued, ${expired} failed past deadline`);
    }
    return { requeued: stranded.length, expired };
  }
}
