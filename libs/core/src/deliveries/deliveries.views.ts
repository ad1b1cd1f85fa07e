import type { Priority } from '@tern/delivery-rules';
import { RawJson } from '../common/raw-json';
import type { AttemptOutcome, DeliveryStatus } from './delivery.model';
import type {
  AttemptRow,
  DeliveryDetailRow,
  DeliveryRow,
  EndpointStatsRows,
  StatsWindowRow,
} from './deliveries.repository';

/** One delivery = one event × one endpoint. */
export interface DeliveryView {
  id: string;
  applicationId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  status: DeliveryStatus;
  /** Its event's: the order the dispatcher releases an endpoint's due deliveries in. */
  priority: Priority;
  /** Attempts started so far (numbers continue after a redelivery). */
  attemptCount: number;
  /** When the next attempt is due (pending only). */
  nextAttemptAt: string | null;
  /** No attempt starts after this. */
  deadlineAt: string;
  /** Set while an attempt is in progress. */
  inFlightSince: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

/** One attempt, as recorded: the request Tern sent (signature redacted) and what came back. */
export interface AttemptView {
  id: string;
  deliveryId: string;
  applicationId: string;
  endpointId: string;
  eventId: string;
  /** 1-based, per delivery. */
  number: number;
  outcome: AttemptOutcome;
  startedAt: string;
  durationMs: number | null;
  url: string;
  requestHeaders: Record<string, string>;
  responseStatus: number | null;
  responseHeaders: Record<string, string> | null;
  /** At most DELIVERY_RESPONSE_BODY_MAX_BYTES of it. */
  responseBody: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  createdAt: string;
}

export interface DeliveryDetailView extends DeliveryView {
  /** `payload` as sent (see RawJson). */
  event: { id: string; eventType: string; payload: RawJson; createdAt: string };
  endpoint: { id: string; url: string };
  /** Ordered by number. */
  attempts: AttemptView[];
}

export interface StatsWindowView {
  attempts: number;
  succeeded: number;
  /** succeeded / attempts (0..1); null without attempts. */
  successRate: number | null;
  /** Over attempts with a duration (interrupted ones have none); null without any. */
  p50DurationMs: number | null;
  p95DurationMs: number | null;
}

export interface EndpointStatsView {
  endpointId: string;
  /** The instant the windows end at. */
  generatedAt: string;
  windows: { hour: StatsWindowView; day: StatsWindowView; week: StatsWindowView };
  /** The latest attempt that did not succeed (failed, retrying or interrupted), or null. */
  lastError: {
    attemptId: string;
    deliveryId: string;
    outcome: AttemptOutcome;
    class: string | null;
    message: string | null;
    status: number | null;
    at: string;
  } | null;
  /** Failed or retrying attempts since the latest successful one (all of them if none ever succeeded). */
  failureStreak: number;
  /** When the latest successful attempt started, or null. */
  lastSuccessAt: string | null;
  /** The last 24 UTC hours, oldest first; the last entry is the current (partial) hour. */
  hourly: { hour: string; attempts: number; succeeded: number }[];
}

/** What recover() did. */
export interface RecoverResultView {
  requeued: number;
  /** True when more failed deliveries matched than RECOVER_MAX_DELIVERIES: call again from `resumeFrom`. */
  capped: boolean;
  limit: number;
  /** With `capped`: the createdAt of the oldest delivery left failed; pass it as `since` to continue. */
  resumeFrom: string | null;
}

export interface SentTestView {
  eventId: string;
  deliveryId: string;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toDeliveryView(r: DeliveryRow): DeliveryView {
  return {
    id: r.id,
    applicationId: r.applicationId,
    eventId: r.eventId,
    endpointId: r.endpointId,
    eventType: r.eventType,
    status: r.status,
    priority: r.priority,
    attemptCount: r.attemptCount,
    nextAttemptAt: iso(r.nextAttemptAt),
    deadlineAt: r.deadlineAt.toISOString(),
    inFlightSince: iso(r.inFlightSince),
    lastStatusCode: r.lastStatusCode,
    lastError: r.lastError,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    completedAt: iso(r.completedAt),
  };
}

export function toAttemptView(r: AttemptRow): AttemptView {
  return {
    id: r.id,
    deliveryId: r.deliveryId,
    applicationId: r.applicationId,
    endpointId: r.endpointId,
    eventId: r.eventId,
    number: r.number,
    outcome: r.outcome,
    startedAt: r.startedAt.toISOString(),
    durationMs: r.durationMs,
    url: r.url,
    requestHeaders: stringMap(r.requestHeaders) ?? {},
    responseStatus: r.responseStatus,
    responseHeaders: stringMap(r.responseHeaders),
    responseBody: r.responseBody,
    errorClass: r.errorClass,
    errorMessage: r.errorMessage,
    createdAt: r.createdAt.toISOString(),
  };
}

export function toDeliveryDetailView(r: DeliveryDetailRow): DeliveryDetailView {
  return {
    ...toDeliveryView(r.delivery),
    event: {
      id: r.event.id,
      eventType: r.event.eventType,
      payload: new RawJson(r.event.payload),
      createdAt: r.event.createdAt.toISOString(),
    },
    endpoint: { id: r.endpoint.id, url: r.endpoint.url },
    attempts: r.attempts.map(toAttemptView),
  };
}

const HOUR_MS = 3_600_000;

export function toEndpointStatsView(endpointId: string, now: Date, r: EndpointStatsRows): EndpointStatsView {
  const byBucket = new Map(r.hourly.map((h) => [h.bucket, h]));
  const current = Math.floor(now.getTime() / HOUR_MS);
  const hourly = Array.from({ length: 24 }, (_, i) => {
    const bucket = current - 23 + i;
    const h = byBucket.get(bucket);
    return {
      hour: new Date(bucket * HOUR_MS).toISOString(),
      attempts: h?.attempts ?? 0,
      succeeded: h?.succeeded ?? 0,
    };
  });
  const e = r.lastError;
  return {
    endpointId,
    generatedAt: now.toISOString(),
    windows: { hour: toWindow(r.hour), day: toWindow(r.day), week: toWindow(r.week) },
    lastError: e
      ? {
          attemptId: e.id,
          deliveryId: e.deliveryId,
          outcome: e.outcome,
          class: e.errorClass,
          message: e.errorMessage,
          status: e.responseStatus,
          at: e.startedAt.toISOString(),
        }
      : null,
    failureStreak: r.failureStreak,
    lastSuccessAt: iso(r.lastSuccessAt),
    hourly,
  };
}

function toWindow(w: StatsWindowRow): StatsWindowView {
  return {
    attempts: w.attempts,
    succeeded: w.succeeded,
    successRate: w.attempts > 0 ? w.succeeded / w.attempts : null,
    p50DurationMs: w.p50 === null ? null : Math.round(w.p50),
    p95DurationMs: w.p95 === null ? null : Math.round(w.p95),
  };
}

function stringMap(v: unknown): Record<string, string> | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
