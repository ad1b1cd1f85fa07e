import { Injectable } from '@nestjs/common';
import { CIRCUIT_STATES, CircuitState } from '@tern/delivery-rules';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Every metric Tern exports, by name, in one place. Labels are bounded sets (no application, endpoint or event
 * ids): route templates, status codes, outcomes, error classes, queue states. Both processes also export the
 * default Node.js process metrics (process_*, nodejs_*).
 */
export const METRIC = {
  // ---- API (GET /metrics on the API port) ----
  /** Counter {mode: single|batch}: events stored (idempotent replays not included). */
  eventsAccepted: 'tern_events_accepted_total',
  /** Counter {mode}: requests answered with an earlier event because its idempotency key was seen. */
  eventsDuplicate: 'tern_events_duplicates_total',
  /** Counter: (event, endpoint) pairs that got no delivery because the endpoint's payload filter did not match. */
  deliveriesFiltered: 'tern_deliveries_filtered_total',
  /** Histogram {method, route, status_code}: API request duration; route is the template, e.g. /v1/events/:id. */
  httpRequestDuration: 'tern_http_request_duration_seconds',
  /** Gauge {state}: jobs in the BullMQ "deliveries" queue (global, read at scrape time). */
  queueJobs: 'tern_queue_jobs',
  /** Gauge: pending deliveries waiting in Postgres to be released (due or not; global, read at scrape time). */
  deliveriesReleasable: 'tern_deliveries_releasable',
  /** Gauge: pending deliveries released to workers and not yet recorded (queued or being attempted; global). */
  deliveriesOutstanding: 'tern_deliveries_outstanding',
  /** Gauge: seconds the oldest due, unreleased delivery has been due; 0 when none (global). */
  dispatchLag: 'tern_dispatch_lag_seconds',
  /** Gauge: deliveries with status pending (global, read at scrape time). */
  deliveriesPending: 'tern_deliveries_pending',
  /**
   * Gauge {state: closed|open|half_open}: live, enabled endpoints by circuit breaker state, every state reported
   * (0 when none; global, read at scrape time).
   */
  endpointCircuitState: 'tern_endpoint_circuit_state',
  /** Counter {source: queue|database}: scrapes whose global gauges could not be read (those are left out). */
  collectErrors: 'tern_metrics_collect_errors_total',

  // ---- worker (GET /metrics on WORKER_METRICS_PORT) ----
  /** Counter {outcome: succeeded|failed}: deliveries this worker finished (by an attempt or at their deadline). */
  deliveriesCompleted: 'tern_deliveries_completed_total',
  /** Counter {outcome: succeeded|retrying|failed, error_class}: attempts recorded. */
  attempts: 'tern_delivery_attempts_total',
  /** Histogram {outcome}: duration of one attempt's HTTP exchange. */
  attemptDuration: 'tern_delivery_attempt_duration_seconds',
  /** Histogram: from the moment a delivery was due (next_attempt_at) to the start of its attempt. */
  queueWait: 'tern_delivery_queue_wait_seconds',
  /** Gauge: attempts in flight in this process. */
  inFlight: 'tern_delivery_in_flight',
  /** Counter: deliveries of a job not attempted because another attempt of them was in flight in this process. */
  claimsSkipped: 'tern_delivery_claims_skipped_total',
  /** Counter {action: requeued|expired}: what the reconciler did. */
  reconcilerActions: 'tern_reconciler_actions_total',
  /** Counter {reason: gone|failing}: endpoints disabled by the worker (HTTP 410, or failing too long). */
  endpointsDisabled: 'tern_endpoints_disabled_total',
  /** Counter {transition: opened|reopened|closed}: circuit breaker changes this worker's dispatcher made. */
  circuitTransitions: 'tern_endpoint_circuit_transitions_total',
  /** Counter: deliveries this worker's dispatcher released to the queue. */
  deliveriesReleased: 'tern_deliveries_released_total',
  /** Counter {table: attempts|events}: rows deleted by the retention purge. */
  retentionDeleted: 'tern_retention_deleted_total',
  /** Counter {type}: operational events written (endpoint.disabled, delivery.failed, endpoint.recovered). */
  operationalEvents: 'tern_operational_events_total',
  /** Counter: attempt results written again because the database was unavailable at the first write. */
  recordRetries: 'tern_attempt_record_retries_total',
} as const;

/** Queue states reported by tern_queue_jobs. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused'];

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ATTEMPT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];

/** A process's own registry, with the default process metrics. */
abstract class TernMetrics {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The global backlog read at scrape time; a part that could not be read is null. */
export interface BacklogSnapshot {
  queue: Record<string, number> | null;
  database: {
    deliveriesReleasable: number;
    deliveriesOutstanding: number;
    dispatchLagSeconds: number;
    deliveriesPending: number;
    endpointCircuits: Record<CircuitState, number>;
  } | null;
}

@Injectable()
export class ApiMetrics extends TernMetrics {
  readonly eventsAccepted = new Counter({
    name: METRIC.eventsAccepted,
    help: 'Events stored (idempotent replays not included).',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  readonly eventsDuplicate = new Counter({
    name: METRIC.eventsDuplicate,
    help: 'Events answered with an earlier event because its idempotency key was seen.',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  readonly deliveriesFiltered = new Counter({
    name: METRIC.deliveriesFiltered,
    help: "(event, endpoint) pairs that got no delivery because the endpoint's payload filter did not match.",
    registers: [this.registry],
  });
  readonly httpRequestDuration = new Histogram({
    name: METRIC.httpRequestDuration,
    help: 'API request duration by route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  readonly queueJobs = new Gauge({
    name: METRIC.queueJobs,
    help: 'Jobs in the deliveries queue by state (global, read at scrape time).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly deliveriesReleasable = new Gauge({
    name: METRIC.deliveriesReleasable,
    help: 'Pending deliveries waiting in Postgres to be released, due or not (global, read at scrape time).',
    registers: [this.registry],
  });
  readonly deliveriesOutstanding = new Gauge({
    name: METRIC.deliveriesOutstanding,
    help: 'Pending deliveries released to workers and not yet recorded (global, read at scrape time).',
    registers: [this.registry],
  });
  readonly dispatchLag = new Gauge({
    name: METRIC.dispatchLag,
    help: 'Seconds the oldest due, unreleased delivery has been due; 0 when none (global).',
    registers: [this.registry],
  });
  readonly deliveriesPending = new Gauge({
    name: METRIC.deliveriesPending,
    help: 'Deliveries with status pending (global, read at scrape time).',
    registers: [this.registry],
  });
  readonly endpointCircuitState = new Gauge({
    name: METRIC.endpointCircuitState,
    help: 'Live, enabled endpoints by circuit breaker state (global, read at scrape time).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly collectErrors = new Counter({
    name: METRIC.collectErrors,
    help: 'Scrapes whose global gauges could not be read (those gauges are left out of that scrape).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  /** Sets the global gauges; a part that could not be read is left out rather than reported stale. */
  setBacklog(b: BacklogSnapshot): void {
    this.queueJobs.reset();
    if (b.queue) {
      for (const [state, n] of Object.entries(b.queue)) this.queueJobs.set({ state }, n);
    } else {
      this.collectErrors.inc({ source: 'queue' });
    }
    // remove(), not reset(): a gauge without labels would still show 0 after reset.
    this.deliveriesReleasable.remove();
    this.deliveriesOutstanding.remove();
    this.dispatchLag.remove();
    this.deliveriesPending.remove();
    this.endpointCircuitState.reset();
    if (b.database) {
      this.deliveriesReleasable.set(b.database.deliveriesReleasable);
      this.deliveriesOutstanding.set(b.database.deliveriesOutstanding);
      this.dispatchLag.set(b.database.dispatchLagSeconds);
      this.deliveriesPending.set(b.database.deliveriesPending);
      for (const state of CIRCUIT_STATES) {
        this.endpointCircuitState.set({ state }, b.database.endpointCircuits[state] ?? 0);
      }
    } else {
      this.collectErrors.inc({ source: 'database' });
    }
  }
}

@Injectable()
export class WorkerMetrics extends TernMetrics {
  readonly deliveriesCompleted = new Counter({
    name: METRIC.deliveriesCompleted,
    help: 'Deliveries finished by this worker, by final outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly attempts = new Counter({
    name: METRIC.attempts,
    help: 'Attempts recorded, by outcome and error class (http_3xx/4xx/5xx for answered requests).',
    labelNames: ['outcome', 'error_class'] as const,
    registers: [this.registry],
  });
  readonly attemptDuration = new Histogram({
    name: METRIC.attemptDuration,
    help: "Duration of one attempt's HTTP exchange, by outcome.",
    labelNames: ['outcome'] as const,
    buckets: ATTEMPT_BUCKETS,
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: METRIC.queueWait,
    help: 'From the moment a delivery was due to the start of its attempt.',
    buckets: WAIT_BUCKETS,
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: METRIC.inFlight,
    help: 'Attempts in flight in this process.',
    registers: [this.registry],
  });
  readonly claimsSkipped = new Counter({
    name: METRIC.claimsSkipped,
    help: 'Deliveries of a job not attempted because another attempt of them was in flight in this process.',
    registers: [this.registry],
  });
  readonly reconcilerActions = new Counter({
    name: METRIC.reconcilerActions,
    help: 'Deliveries the reconciler released again after their job was lost (requeued) or failed past their deadline (expired).',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly endpointsDisabled = new Counter({
    name: METRIC.endpointsDisabled,
    help: 'Endpoints disabled by the worker (gone = HTTP 410, failing = no success for ENDPOINT_DISABLE_AFTER_SECONDS).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly circuitTransitions = new Counter({
    name: METRIC.circuitTransitions,
    help: 'Circuit breaker changes made by this worker (opened, reopened after a failed probe, closed).',
    labelNames: ['transition'] as const,
    registers: [this.registry],
  });
  readonly deliveriesReleased = new Counter({
    name: METRIC.deliveriesReleased,
    help: 'Deliveries this worker released to the queue.',
    registers: [this.registry],
  });
  readonly retentionDeleted = new Counter({
    name: METRIC.retentionDeleted,
    help: 'Rows deleted by the retention purge, by table.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });
  readonly recordRetries = new Counter({
    name: METRIC.recordRetries,
    help: 'Attempt results written again because the database was unavailable at the first write.',
    registers: [this.registry],
  });
  readonly operationalEvents = new Counter({
    name: METRIC.operationalEvents,
    help: 'Operational events written with attempt results and deadline expiries by this worker, by type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
}

/** The error_class label of an attempt: its transport error class, else http_<n>xx (http_2xx on success), else none. */
export function attemptErrorClass(
  errorClass: string | null | undefined,
  statusCode: number | null | undefined,
): string {
  if (errorClass) return errorClass;
  if (statusCode && statusCode >= 100 && statusCode < 600) return `http_${Math.floor(statusCode / 100)}xx`;
  return 'none';
}

/**
 * Whether a metrics request may be answered: always when no token is configured, else only with
 * "Authorization: Bearer <token>" (compared in constant time).
 */
export function metricsAccessAllowed(token: string, authorization: string | undefined): boolean {
  if (!token) return true;
  const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}
