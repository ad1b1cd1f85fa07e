import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { DELIVERY_QUEUE, DeliveryJobData, DeliveryService } from '@tern/core';
import { Job } from 'bullmq';

/**
 * Unpacks a delivery job (deliveries of one endpoint released together by the dispatcher) and runs their attempts.
 * Retries wait in Postgres, not here: the job completes once every attempt is recorded. Real faults are thrown so
 * BullMQ runs the job again.
 */
@Processor(DELIVERY_QUEUE, { autorun: false })
export class DeliveryProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryProcessor.name);

  constructor(
    private readonly delivery: DeliveryService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.WORKER_CONCURRENCY;
    Object.assign(this.worker.opts, {
      lockDuration: this.config.JOB_LOCK_DURATION_MS,
      stalledInterval: this.config.JOB_STALLED_INTERVAL_MS,
      maxStalledCount: 10,
    });
    this.worker.run().catch((err: Error) => {
      // The worker loop only ends on close; an error here is fatal for this process.
      console.error(`delivery worker stopped: ${err.message}`);
      process.exitCode = 1;
    });
  }

  /** Shutdown step one: take no new jobs and wait for the attempts in flight (bounded by SHUTDOWN_GRACE_MS in main). */
  async onModuleDestroy(): Promise<void> {
    await this.worker.close();
  }

  /** A thrown fault (database down…) is retried by BullMQ; say so, once per failure. */
  @OnWorkerEvent('failed')
  onFailed(job: Job<DeliveryJobData> | undefined, err: Error): void {
    this.logger.error(`delivery job ${job?.id ?? '?'} failed (BullMQ retries it): ${err.message}`);
  }

  async process(job: Job<DeliveryJobData>): Promise<string> {
    // A job from before the dispatcher (one delivery, no release token): its delivery is released anew.
    if (!Array.isArray(job.data.deliveries)) return 'skipped';
    const results = await this.delivery.deliver(job.data);
    return results.join(',');
  }
}
