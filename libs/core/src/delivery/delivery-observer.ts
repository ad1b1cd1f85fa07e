import { Injectable } from '@nestjs/common';
import { attemptErrorClass, WorkerMetrics } from '@tern/observability';
import { OPERATIONAL_EVENT } from '../operational/operational-events.model';
import { AttemptRecord, ClaimedDelivery, ExpiredDelivery } from './delivery-attempts.repository';

/**
 * What the delivery engine reports besides its records: worker metrics. Kept out of DeliveryService so the attempt
 * path reads as the attempt path. Never throws, never makes a job wait. (Operational events are not sent from
 * here: they are written in the transactions of the changes they report — see operational-events.model.ts.)
 */
@Injectable()
export class DeliveryObserver {
  constructor(private readonly metrics: WorkerMetrics) {}

  /** A job's delivery was not attempted here: another attempt of it is in flight in this process. */
  claimSkipped(): void {
    this.metrics.claimsSkipped.inc();
  }

  /** An attempt result is being written again (the database was unavailable). */
  recordRetried(): void {
    this.metrics.recordRetries.inc();
  }

  attemptStarted(): void {
    this.metrics.inFlight.inc();
  }

  attemptEnded(): void {
    this.metrics.inFlight.dec();
  }

  /** An attempt was recorded and applied to its delivery (not superseded). */
  attemptRecorded(claim: ClaimedDelivery, r: AttemptRecord): void {
    this.metrics.attempts.inc({
      outcome: r.outcome,
      error_class: attemptErrorClass(r.errorClass, r.responseStatus),
    });
    this.metrics.attemptDuration.observe({ outcome: r.outcome }, r.durationMs / 1000);
    if (claim.dueAt) {
      this.metrics.queueWait.observe(Math.max(0, r.startedAt.getTime() - claim.dueAt.getTime()) / 1000);
    }
    if (r.outcome !== 'retrying') this.metrics.deliveriesCompleted.inc({ outcome: r.outcome });
  }

  /** Operational events written with a batch of results (their types). */
  operationalEventsWritten(types: string[]): void {
    for (const type of types) this.metrics.operationalEvents.inc({ type });
  }

  /** The worker disabled an endpoint that answered 410 (endpoint.disabled is sent by EndpointsService). */
  endpointGone(): void {
    this.metrics.endpointsDisabled.inc({ reason: 'gone' });
  }

  /** Deliveries failed at their deadline (at claim time or by the reconciler). */
  deliveriesExpired(failed: ExpiredDelivery[]): void {
    if (failed.length === 0) return;
    this.metrics.deliveriesCompleted.inc({ outcome: 'failed' }, failed.length);
    const announced = failed.filter((d) => d.announced).length;
    if (announced) this.metrics.operationalEvents.inc({ type: OPERATIONAL_EVENT.deliveryFailed }, announced);
  }

  reconciled(requeued: number, expired: number): void {
    if (requeued) this.metrics.reconcilerActions.inc({ action: 'requeued' }, requeued);
    if (expired) this.metrics.reconcilerActions.inc({ action: 'expired' }, expired);
  }

  /** A circuit opened, reopened (failed probe) or closed. */
  circuitChanged(transition: 'opened' | 'reopened' | 'closed'): void {
    this.metrics.circuitTransitions.inc({ transition });
  }

  /** The dispatcher disabled an endpoint failing too long (endpoint.disabled is written by the disable). */
  endpointDisabledForFailing(): void {
    this.metrics.endpointsDisabled.inc({ reason: 'failing' });
  }

  deliveriesReleased(n: number): void {
    if (n) this.metrics.deliveriesReleased.inc(n);
  }
}
