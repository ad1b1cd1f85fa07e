import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { Queue } from 'bullmq';
import {
  DELIVERY_QUEUE,
  deliveryJob,
  ENDPOINT_CHANGED_CHANNEL,
  OUTBOX_CHANNEL,
} from '../queue/queue.constants';
import { DeliveryObserver } from '../delivery/delivery-observer';
import { EndpointConfigCache } from '../delivery/endpoint-config-cache';
import { withTimeout } from '../common/with-timeout';
import { OutboxItem, OutboxRepository } from './outbox.repository';
import { PgListener } from './pg-listener';

/**
 * Moves outbox rows into BullMQ. Woken by NOTIFY on commit of new outbox rows, with polling as the fallback; runs
 * batches back to back while there is a backlog. Safe with any number of worker processes (SKIP LOCKED).
 * Also forwards endpoint-change notifications to the endpoint config cache.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxRelayService.name);
  private listener: PgListener | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(
    private readonly config: AppConfig,
    private readonly outbox: OutboxRepository,
    private readonly cache: EndpointConfigCache,
    @InjectQueue(DELIVERY_QUEUE) private readonly queue: Queue,
    private readonly observer: DeliveryObserver,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopped = false;
    this.listener = new PgListener(
      this.config.DATABASE_URL,
      [OUTBOX_CHANNEL, ENDPOINT_CHANGED_CHANNEL],
      (channel, payload) => {
        if (channel === OUTBOX_CHANNEL) this.wake();
        else this.cache.invalidate(payload);
      },
      (err) => this.logger.warn(`LISTEN connection: ${err.message}`),
    );
    await this.listener.start();
    this.timer = setInterval(() => this.wake(), this.config.RELAY_POLL_INTERVAL_MS);
    this.wake();
  }

  /** Stop claiming; let a batch in progress finish. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.listener?.stop();
    await this.running;
  }

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

  /** Relays batches until one comes back short. */
  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        const n = await this.relayOnce();
        this.observer.outboxRelayed(n);
        if (n < this.config.RELAY_BATCH_SIZE) return;
      }
    } catch (err) {
      this.logger.error(`outbox relay failed (will retry on next poll): ${(err as Error).message}`);
    }
  }

  relayOnce(): Promise<number> {
    return this.outbox.relay(
      this.config.RELAY_BATCH_SIZE,
      async (items) => {
        await withTimeout(
          this.queue.addBulk(
            items.map((i) => deliveryJob({ deliveryId: i.deliveryId, endpointId: i.endpointId }, i.delayMs)),
          ),
          10_000,
          'Redis addBulk',
        );
        // A redelivered or recovered delivery may still have a retry job waiting, delayed, from its previous
        // series (its endpoint was disabled meanwhile): adding the same job id was a no-op, so bring that job
        // forward instead. Only re-queued deliveries pay for this look-up.
        const requeued = items.filter((i) => i.requeued && i.delayMs === 0);
        if (requeued.length) await withTimeout(this.promoteDelayed(requeued), 10_000, 'Redis promote');
      },
      20_000,
    );
  }

  private async promoteDelayed(items: OutboxItem[]): Promise<void> {
    for (const item of items) {
      const job = await this.queue.getJob(item.deliveryId);
      if (job && (await job.isDelayed())) await job.promote().catch(() => undefined); // raced: already moved
    }
  }
}
