import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { inFlightPresumedLostAfterMs } from '@tern/delivery-rules';
import { DispatcherService } from '../dispatch/dispatcher.service';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository';
import { DeliveryObserver } from './delivery-observer';

/** Most deliveries one reconciler pass looks at. */
export const RECONCILE_BATCH = 1000;

/**
 * Postgres is the source of truth; Redis is transport. Periodically: release again the deliveries released
 * RECONCILER_GRACE_MS ago whose attempt never started — their job was lost (Redis flushed or restarted empty, a
 * worker killed before its claim) — and fail pending deliveries past their deadline. A stale job that turns up
 * after all is skipped (its release token is no longer in force), so every worker can run this at once.
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
    private readonly observer: DeliveryObserver,
    private readonly dispatcher: DispatcherService,
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
    const requeued = await this.repo.releaseLost(
      new Date(now.getTime() - grace),
      inFlightCutoff,
      RECONCILE_BATCH,
    );
    if (requeued) this.dispatcher.wake();
    this.totals.requeued += requeued;
    this.totals.expired += expired;
    this.observer.reconciled(requeued, expired);
    if (requeued || expired) {
      this.logger.log(`reconciler: ${requeued} released again, ${expired} failed past deadline`);
    }
    return { requeued, expired };
  }
}
