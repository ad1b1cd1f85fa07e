import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { DELIVERY_QUEUE, DeliveryJobData, DeliveryService } from '@tern/core';
import { DelayedError, Job } from 'bullmq';

/** BullMQ's errors for a job whose lock this worker no longer holds. */
const LOST_LOCK = /Missing lock for job|Lock mismatch for job/;

/**
 * Unpacks a delivery job and runs one attempt. A retry or a throttled endpoint moves the same job (same id) to
 * delayed; real faults are thrown so BullMQ retries the job.
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

  async process(job: Job<DeliveryJobData>, token?: string): Promise<string> {
    const result = await this.delivery.attempt(job.data);
    if (result.kind === 'done') return result.outcome;
    const at = result.kind === 'throttled' ? Date.now() + result.delayMs : result.at.getTime();
    try {
      await job.moveToDelayed(at, token);
    } catch (err) {
      // The job's lock was lost (Redis restarted, or a stall let another worker take the job over): the
      // delivery's state is in Postgres and whoever holds the job now — or the reconciler — carries it on.
      if (!LOST_LOCK.test((err as Error).message)) throw err;
      this.logger.warn(
        `delivery job ${job.id ?? '?'}: lock lost before it could be delayed; left to its holder`,
      );
    }
    throw new DelayedError();
  }
}
