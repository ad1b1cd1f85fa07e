import { Client } from 'pg';
import { newId } from '@tern/core';

export interface SeededEvent {
  id: string;
  applicationId: string;
  eventType: string;
  createdAt: Date;
}

export interface SeededDelivery {
  id: string;
  applicationId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  status: 'pending' | 'succeeded' | 'failed';
  createdAt: Date;
}

export interface SeededAttempt {
  id: string;
  deliveryId: string;
  applicationId: string;
  endpointId: string;
  eventId: string;
  number: number;
  outcome: 'succeeded' | 'retrying' | 'failed' | 'interrupted';
  startedAt: Date;
  durationMs: number | null;
  responseStatus: number | null;
}

/**
 * Writes events, deliveries and attempts straight into a test database, with chosen times and states, for tests
 * that need exact figures (queries, statistics, recovery). Ids carry the given times, like real ones.
 */
export class Seeder {
  constructor(readonly db: Client) {}

  static async connect(url: string): Promise<Seeder> {
    const db = new Client({ connectionString: url });
    await db.connect();
    return new Seeder(db);
  }

  close(): Promise<void> {
    return this.db.end();
  }

  async event(
    applicationId: string,
    o: { eventType?: string; payload?: unknown; createdAt?: Date } = {},
  ): Promise<SeededEvent> {
    const createdAt = o.createdAt ?? new Date();
    const e = {
      id: newId('evt', createdAt.getTime()),
      applicationId,
      eventType: o.eventType ?? 'order.created',
      createdAt,
    };
    await this.db.query(
      `INSERT INTO events (id, application_id, event_type, payload, created_at) VALUES ($1, $2, $3, $4, $5)`,
      [e.id, applicationId, e.eventType, JSON.stringify(o.payload ?? { seeded: true }), createdAt],
    );
    return e;
  }

  async delivery(
    event: SeededEvent,
    endpointId: string,
    o: {
      status?: SeededDelivery['status'];
      createdAt?: Date;
      attemptCount?: number;
      lastError?: string | null;
      lastStatusCode?: number | null;
      nextAttemptAt?: Date | null;
    } = {},
  ): Promise<SeededDelivery> {
    const createdAt = o.createdAt ?? event.createdAt;
    const status = o.status ?? 'failed';
    const d: SeededDelivery = {
      id: newId('dlv', createdAt.getTime()),
      applicationId: event.applicationId,
      eventId: event.id,
      endpointId,
      eventType: event.eventType,
      status,
      createdAt,
    };
    const done = status !== 'pending';
    await this.db.query(
      `INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, attempt_count,
                               next_attempt_at, deadline_at, last_status_code, last_error, created_at, updated_at,
                               completed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)`,
      [
        d.id,
        d.applicationId,
        d.eventId,
        endpointId,
        d.eventType,
        status,
        o.attemptCount ?? (status === 'pending' ? 0 : 1),
        o.nextAttemptAt !== undefined
          ? o.nextAttemptAt
          : done
            ? null
            : new Date(createdAt.getTime() + 3_600_000 * 24 * 365),
        new Date(createdAt.getTime() + 86_400_000),
        o.lastStatusCode ?? (status === 'failed' ? 500 : status === 'succeeded' ? 200 : null),
        o.lastError !== undefined ? o.lastError : status === 'failed' ? 'http_500' : null,
        createdAt,
        done ? createdAt : null,
      ],
    );
    return d;
  }

  async attempt(
    d: Pick<SeededDelivery, 'id' | 'applicationId' | 'endpointId' | 'eventId'>,
    o: {
      number: number;
      outcome: SeededAttempt['outcome'];
      startedAt: Date;
      durationMs?: number | null;
      responseStatus?: number | null;
      errorClass?: string | null;
      errorMessage?: string | null;
      url?: string;
      responseBody?: string | null;
    },
  ): Promise<SeededAttempt> {
    const a: SeededAttempt = {
      id: newId('att', o.startedAt.getTime()),
      deliveryId: d.id,
      applicationId: d.applicationId,
      endpointId: d.endpointId,
      eventId: d.eventId,
      number: o.number,
      outcome: o.outcome,
      startedAt: o.startedAt,
      durationMs: o.durationMs === undefined ? 100 : o.durationMs,
      responseStatus:
        o.responseStatus === undefined ? (o.outcome === 'succeeded' ? 200 : null) : o.responseStatus,
    };
    await this.db.query(
      `INSERT INTO attempts (id, delivery_id, application_id, endpoint_id, event_id, number, started_at, duration_ms,
                             url, request_headers, response_status, response_headers, response_body, error_class,
                             error_message, outcome)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      [
        a.id,
        a.deliveryId,
        a.applicationId,
        a.endpointId,
        a.eventId,
        a.number,
        a.startedAt,
        a.durationMs,
        o.url ?? 'https://receiver.example.com/hook',
        JSON.stringify({ 'content-type': 'application/json', 'webhook-id': d.eventId }),
        a.responseStatus,
        a.responseStatus === null ? null : JSON.stringify({ 'content-type': 'text/plain' }),
        o.responseBody === undefined ? (a.responseStatus === null ? null : 'ok') : o.responseBody,
        o.errorClass ?? null,
        o.errorMessage ?? null,
        o.outcome,
      ],
    );
    return a;
  }
}

/** Newest first on (time, id), like every list of the API. */
export function newestFirst<T extends { id: string }>(rows: T[], time: (r: T) => Date): T[] {
  return [...rows].sort((x, y) => {
    const d = time(y).getTime() - time(x).getTime();
    return d !== 0 ? d : x.id < y.id ? 1 : x.id > y.id ? -1 : 0;
  });
}
