import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { WorkerMetrics } from '@tern/observability';
import { RetentionRepository } from './retention.repository';

export interface RetentionPassResult {
  attempts: number;
  events: number;
}

/**
 * The retention purge (worker). Every RETENTION_INTERVAL_MS: deletes attempts older than RETENTION_DAYS, then
 * events older than RETENTION_DAYS with their deliveries (and whatever attempts they still have) — never an event
 * that has a pending delivery. Batches of RETENTION_BATCH_SIZE rows, one short statement each, back to back until
 * less than a batch is left; stops between batches on shutdown. RETENTION_DAYS=0 keeps events and attempts
 * forever.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RetentionService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly repo: RetentionRepository,
    private readonly metrics: WorkerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    // The first pass soon after start (spread out, so workers started together don't purge in step), then on
    // the interval.
    const interval = this.config.RETENTION_INTERVAL_MS;
    const first = Math.round(Math.min(interval, 60_000) * (0.5 + Math.random() / 2));
    const tick = () => {
      if (this.stopped) return;
      if (!this.running) {
        this.running = this.runOnce()
          .catch((err: Error) => this.logger.error(`retention pass failed: ${err.message}`))
          .finally(() => (this.running = null));
      }
      this.timer = setTimeout(tick, interval);
    };
    this.timer = setTimeout(tick, first);
  }

  /** Stop between batches; wait for the statement in progress. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One full pass. */
  async runOnce(now = new Date()): Promise<RetentionPassResult> {
    const result: RetentionPassResult = { attempts: 0, events: 0 };
    const days = this.config.RETENTION_DAYS;
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    if (days > 0) {
      result.attempts = await this.purge('attempts', (n) => this.repo.deleteAttempts(cutoff, n));
    }
    if (days > 0) {
      result.events = await this.purge('events', async (n) => {
        const r = await this.repo.deleteEvents(cutoff, n);
        return { deleted: r.deleted, more: r.candidates >= n };
      });
    }
    if (result.attempts || result.events) {
      this.logger.log(`retention: deleted ${result.events} events, ${result.attempts} attempts`);
    }
    return result;
  }

  private async purge(
    table: 'attempts' | 'events',
    batch: (limit: number) => Promise<number | { deleted: number; more: boolean }>,
  ): Promise<number> {
    const limit = this.config.RETENTION_BATCH_SIZE;
    let total = 0;
    for (;;) {
      const r = await batch(limit);
      const { deleted, more } = typeof r === 'number' ? { deleted: r, more: r >= limit } : r;
      total += deleted;
      if (deleted) this.metrics.retentionDeleted.inc({ table }, deleted);
      if (!more || this.stopped) break;
    }
    return total;
  }
}
