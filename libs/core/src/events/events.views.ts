import type { Priority } from '@tern/delivery-rules';
import type { DeliveryStatus } from '../deliveries/delivery.model';
import { RawJson } from '../common/raw-json';
import { EventDeliveryRecord, EventDetailRecord, EventRecord, EventSummaryRecord } from './events.repository';

/** What POST /v1/events answers (202 when created, 200 with the original event for a repeated key). */
export interface AcceptedEventView {
  id: string;
  eventType: string;
  priority: Priority;
  /** Orders its deliveries to endpoints with ordering partitioned; null: unordered. */
  partitionKey: string | null;
  createdAt: string;
  deliveryCount: number;
}

/** One item of POST /v1/events/batch's answer; `duplicate` = an earlier event with the same key. */
export interface BatchItemView extends AcceptedEventView {
  duplicate: boolean;
}

export interface EventListItemView {
  id: string;
  eventType: string;
  priority: Priority;
  partitionKey: string | null;
  idempotencyKey: string | null;
  createdAt: string;
}

export interface EventDeliveryView {
  id: string;
  endpointId: string;
  status: DeliveryStatus;
  priority: Priority;
  attemptCount: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface EventDetailView extends EventListItemView {
  /** The payload as sent: serialised by stringifyWithRawJson, it appears in the answer byte for byte. */
  payload: RawJson;
  deliveries: EventDeliveryView[];
}

export function toAcceptedEventView(r: EventSummaryRecord): AcceptedEventView {
  return {
    id: r.id,
    eventType: r.eventType,
    priority: r.priority,
    partitionKey: r.partitionKey,
    createdAt: r.createdAt.toISOString(),
    deliveryCount: r.deliveryCount,
  };
}

export function toEventListItemView(r: EventRecord): EventListItemView {
  return {
    id: r.id,
    eventType: r.eventType,
    priority: r.priority,
    partitionKey: r.partitionKey,
    idempotencyKey: r.idempotencyKey,
    createdAt: r.createdAt.toISOString(),
  };
}

export function toEventDetailView(r: EventDetailRecord): EventDetailView {
  return {
    ...toEventListItemView(r),
    payload: new RawJson(r.payload),
    deliveries: r.deliveries.map(toDeliveryView),
  };
}

function toDeliveryView(d: EventDeliveryRecord): EventDeliveryView {
  return {
    id: d.id,
    endpointId: d.endpointId,
    status: d.status,
    priority: d.priority,
    attemptCount: d.attemptCount,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    completedAt: d.completedAt?.toISOString() ?? null,
  };
}
