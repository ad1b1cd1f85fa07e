import type { JobsOptions } from 'bullmq';

/** The one BullMQ queue: one job per delivery, jobId = delivery id, data = ids only (no payloads, no secrets). */
export const DELIVERY_QUEUE = 'deliveries';

export interface DeliveryJobData {
  deliveryId: string;
  endpointId: string;
}

/**
 * Job options. Retries of a delivery are scheduled by the delivery service itself (the job is moved to delayed),
 * so BullMQ's own `attempts` only cover infrastructure faults (database down mid-job): a few, with backoff.
 * Finished jobs (completed or failed) are removed so a later redelivery or reconciliation can reuse the delivery id
 * as jobId: the attempt log in Postgres is the record, not BullMQ.
 */
export const DELIVERY_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: true,
};

/** Postgres NOTIFY channels. */
export const OUTBOX_CHANNEL = 'tern_outbox';
export const ENDPOINT_CHANGED_CHANNEL = 'tern_endpoint_changed';

export function deliveryJob(d: DeliveryJobData, delayMs = 0) {
  return {
    name: 'deliver',
    data: d,
    opts: { ...DELIVERY_JOB_OPTIONS, jobId: d.deliveryId, ...(delayMs > 0 ? { delay: delayMs } : {}) },
  };
}
