import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { attemptErrorClass, WorkerMetrics } from '@tern/observability';
import { FailedDeliveryRef, OperationalEventsService } from '../operational/operational-events.service';
import { AttemptRecord, ClaimedDelivery } from './delivery-attempts.repository';
import { EndpointConfigCache } from './endpoint-config-cache';

/**
 * What the delivery engine reports besides its records: worker metrics, and the operational events that follow
 * from an attempt (delivery.failed, endpoint.recovered). Kept out of DeliveryService so the attempt path reads as
 * the attempt path. Never throws, never makes a job wait: the operational part runs in the background (after the
 * record is durable) and is waited for at shutdown, after the BullMQ worker has closed.
 */
@Injectable()
export class DeliveryObserver implements OnApplicationShutdown {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly metrics: WorkerMetrics,
    private readonly operational: OperationalEventsService,
    private readonly cache: EndpointConfigCache,
  ) {
    operational.onWritten = (type) => metrics.operationalEvents.inc({ type });
  }

  throttled(reason: 'endpoint_in_flight' | 'rate_limit' | 'claim_deferred'): void {
    this.metrics.throttled.inc({ reason });
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

  async onApplicationShutdown(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
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
    this.background(this.reportAttempt(claim, r));
  }

  private async reportAttempt(claim: ClaimedDelivery, r: AttemptRecord): Promise<void> {
    const endpoint = await this.cache.get(claim.endpointId).catch(() => null);
    if (!endpoint || endpoint.config.kind !== 'standard') return;
    const ref = { ...endpoint.config, url: r.url };
    await this.operational.attemptRecorded(ref, r.outcome === 'succeeded', new Date());
    if (r.outcome === 'failed') {
      await this.operational.deliveryFailed({
        deliveryId: claim.deliveryId,
        applicationId: claim.applicationId,
        eventId: claim.eventId,
        eventType: claim.eventType,
        endpointId: claim.endpointId,
        endpointUrl: r.url,
        endpointKind: endpoint.config.kind,
        attempts: claim.attemptNumber,
        lastError: r.lastError,
        lastStatusCode: r.responseStatus,
      });
    }
  }

  /** The worker disabled an endpoint that answered 410 (endpoint.disabled is sent by EndpointsService). */
  endpointGone(): void {
    this.metrics.endpointsDisabled.inc({ reason: 'gone' });
  }

  /** Deliveries failed at their deadline (at claim time or by the reconciler). */
  deliveriesExpired(failed: FailedDeliveryRef[]): void {
    if (failed.length === 0) return;
    this.metrics.deliveriesCompleted.inc({ outcome: 'failed' }, failed.length);
    this.background(Promise.all(failed.map((d) => this.operational.deliveryFailed(d))).then(() => undefined));
  }

  reconciled(requeued: number, expired: number): void {
    if (requeued) this.metrics.reconcilerActions.inc({ action: 'requeued' }, requeued);
    if (expired) this.metrics.reconcilerActions.inc({ action: 'expired' }, expired);
  }

  outboxRelayed(n: number): void {
    if (n) this.metrics.outboxRelayed.inc(n);
  }

  private background(work: Promise<void>): void {
    const p = work.catch(() => undefined); // the operational calls log their own failures
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
