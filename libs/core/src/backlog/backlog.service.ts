import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { BacklogSnapshot, QUEUE_STATES } from '@tern/observability';
import { JobType, Queue } from 'bullmq';
import { withTimeout } from '../common/with-timeout';
import { DELIVERY_QUEUE } from '../queue/queue.constants';
import { BacklogRepository } from './backlog.repository';

/** Longest a scrape waits for Redis or Postgres before leaving that part out. */
export const BACKLOG_READ_TIMEOUT_MS = 2000;

/**
 * The global backlog for the API's /metrics, read at scrape time: queue jobs by state (BullMQ), outbox rows not
 * yet relayed and the age of the oldest, pending deliveries, endpoints by circuit state. Each process reports the
 * same global numbers: aggregate them with max(), not sum().
 */
@Injectable()
export class BacklogService implements OnApplicationShutdown {
  private readonly logger = new Logger(BacklogService.name);
  private queue: Queue | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly repo: BacklogRepository,
  ) {}

  async snapshot(): Promise<BacklogSnapshot> {
    const [queue, database] = await Promise.all([
      this.queueCounts().catch((err: Error) => {
        this.logger.warn(`queue depth not read: ${err.message}`);
        void this.dropQueue();
        return null;
      }),
      withTimeout(this.repo.read(), BACKLOG_READ_TIMEOUT_MS, 'backlog query').catch((err: Error) => {
        this.logger.warn(`outbox and delivery backlog not read: ${err.message}`);
        return null;
      }),
    ]);
    return { queue, database };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.dropQueue();
  }

  private async queueCounts(): Promise<Record<string, number>> {
    // Created on first use, fail-fast (no offline queue), and dropped after an error: BullMQ keeps a connection
    // that failed to initialise failed for good.
    this.queue ??= this.createQueue();
    return withTimeout(
      this.queue.getJobCounts(...(QUEUE_STATES as JobType[])),
      BACKLOG_READ_TIMEOUT_MS,
      'Redis getJobCounts',
    );
  }

  private createQueue(): Queue {
    const queue = new Queue(DELIVERY_QUEUE, {
      connection: {
        url: this.config.REDIS_URL,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: BACKLOG_READ_TIMEOUT_MS,
      },
      prefix: this.config.QUEUE_PREFIX,
    });
    queue.on('error', () => undefined); // reported by the scrape that fails, and by /readyz
    return queue;
  }

  private async dropQueue(): Promise<void> {
    const q = this.queue;
    this.queue = null;
    if (q) await withTimeout(q.close(), BACKLOG_READ_TIMEOUT_MS, 'queue close').catch(() => undefined);
  }
}
