/**
 * The vocabulary of deliveries and attempts, declared once (a leaf module: it imports nothing). The database enums
 * `delivery_status` and `attempt_outcome` hold the same values (checked by delivery.model.spec.ts); repositories,
 * views, rules, DTOs and pages import them from here.
 */

/** A delivery (one event × one endpoint): waiting for an attempt, or finished one way or the other. */
export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * One attempt as logged. `interrupted`: the worker stopped during it; whether the receiver got it is unknown.
 * `superseded`: its result (any status, kept on the row) arrived after the attempt had been taken over or the
 * delivery had failed or been re-queued meanwhile; it decided nothing. A delivery has at most one `succeeded`.
 */
export const ATTEMPT_OUTCOMES = ['succeeded', 'retrying', 'failed', 'interrupted', 'superseded'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * What a worker decides for an attempt it finished (`interrupted` is only ever written by the next claim;
 * `superseded` by record() in place of the decided outcome when the attempt no longer held its claim).
 */
export type RecordedOutcome = Exclude<AttemptOutcome, 'interrupted' | 'superseded'>;

/** Filters of listDeliveries (all optional, combined with AND). `since` inclusive, `until` exclusive (createdAt). */
export interface DeliveryFilter {
  endpointId?: string;
  eventId?: string;
  eventType?: string;
  status?: DeliveryStatus;
  since?: Date;
  until?: Date;
}

/** Filters of listAttempts (all optional, combined with AND). `since` inclusive, `until` exclusive (startedAt). */
export interface AttemptFilter {
  endpointId?: string;
  eventId?: string;
  deliveryId?: string;
  outcome?: AttemptOutcome;
  /** HTTP status the receiver answered (attempts without an answer have none). */
  statusCode?: number;
  since?: Date;
  until?: Date;
}
