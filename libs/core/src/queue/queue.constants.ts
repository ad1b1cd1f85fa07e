import type { JobsOptions } from 'bullmq';

/**
 * The one BullMQ queue. A job carries deliveries of one endpoint released together by the dispatcher (ids and
 * release tokens only: no payloads, no secrets).
 */
export const DELIVERY_QUEUE = 'deliveries';

/** A released delivery: its id and the release it belongs to (deliveries.released_at as Postgres wrote it). */
export interface ReleasedDelivery {
  deliveryId: string;
  releaseToken: string;
}

export interface DeliveryJobData {
  endpointId: string;
  deliveries: ReleasedDelivery[];
}

/**
 * Job options. Retries of a delivery wait in Postgres (next_attempt_at) and are released again by the dispatcher,
 * so BullMQ's own `attempts` only cover infrastructure faults (database down mid-job): a few, with backoff; a
 * re-run skips the deliveries already recorded (their release token no longer holds). Finished jobs are removed:
 * the attempt log in Postgres is the record, not BullMQ.
 */
export const DELIVERY_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: true,
};

/** Postgres NOTIFY channels. */
export const DISPATCH_CHANNEL = 'tern_dispatch';
export const ENDPOINT_CHANGED_CHANNEL = 'tern_endpoint_changed';

/** One job; its id is unique per release (first delivery and release time), so a re-release never collides. */
export function deliveryJob(d: DeliveryJobData, releasedAtMs: number) {
  return {
    name: 'deliver',
    data: d,
    opts: {
      ...DELIVERY_JOB_OPTIONS,
      jobId: `rel_${d.deliveries[0]?.deliveryId ?? d.endpointId}_${releasedAtMs}`,
    },
  };
}
