import { Prisma } from '@tern/database';
import {
  fanOutCtes,
  subscribedEndpointSql,
  subscribedEndpointsJoin,
} from '../deliveries/delivery-writes.sql';
import { OPERATIONAL_EVENT, OperationalEventType } from './operational-events.model';

/**
 * SQL fragments that write operational events inside the transactions of the state changes they report (claim,
 * record and deadline sweep in delivery-attempts.repository, disable in endpoints.repository), on top of the
 * delivery fan-out of delivery-writes.sql.ts. Plain text, as there.
 */

/** The transaction's time as JSON timestamps are written elsewhere (Date.toISOString: UTC, milliseconds). */
const ISO_NOW = `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * CTEs that write operational events for the rows of CTE `source` (columns: ref text — what the event is about,
 * for the caller —, application_id, event_type, payload jsonb): an event (payload + `at`), its deliveries and their
 * outbox rows, for each row whose application has an enabled operational endpoint subscribed to its type. CTE
 * `ops_in` holds the rows written (ref, event_type). To follow other CTEs in a WITH list.
 */
export function operationalEventCtes(source: string, deadlineSeconds: number): string {
  return `ops_in AS MATERIALIZED (
        SELECT tern_id('evt') AS id, s.ref, s.application_id, s.event_type,
               (s.payload || jsonb_build_object('at', ${ISO_NOW}))::text AS payload
        FROM ${source} s
        WHERE EXISTS (SELECT 1 FROM endpoints ep
                      WHERE ${subscribedEndpointSql('ep', 's.application_id', 's.event_type', 'operational')})
      ), ops_ev AS (
        INSERT INTO events (id, application_id, event_type, payload, idempotency_key, created_at)
        SELECT id, application_id, event_type, payload, NULL, now() FROM ops_in
        RETURNING id, application_id, event_type, created_at, priority, partition_key, partition_seq
      ), ${fanOutCtes('ops', 'ops_ev', subscribedEndpointsJoin('operational'), deadlineSeconds)}`;
}

/**
 * A SELECT of delivery.failed rows (for operationalEventCtes) from CTE `failed`: deliveries just failed (columns
 * id, application_id, endpoint_id, event_id, event_type, attempt_count, last_error, last_status_code), of
 * standard endpoints only.
 */
export function deliveryFailedSourceSql(failed: string): string {
  return `SELECT f.id AS ref, f.application_id, '${OPERATIONAL_EVENT.deliveryFailed}'::text AS event_type,
               jsonb_build_object('deliveryId', f.id, 'eventId', f.event_id, 'eventType', f.event_type,
                                  'endpointId', f.endpoint_id, 'url', ep.url, 'lastError', f.last_error,
                                  'lastStatusCode', f.last_status_code, 'attempts', f.attempt_count) AS payload
        FROM ${failed} f JOIN endpoints ep ON ep.id = f.endpoint_id AND ep.kind = 'standard'`;
}

/** An operational event computed outside SQL (endpoint.disabled, endpoint.recovered). */
export interface OperationalEventInput {
  ref: string;
  applicationId: string;
  type: OperationalEventType;
  /** Without `at`: the transaction's time is added. */
  payload: Record<string, unknown>;
}

/**
 * Writes operational events inside the caller's transaction. Returns the refs written (those whose application
 * has a subscribed operational endpoint).
 */
export async function writeOperationalEvents(
  tx: Pick<Prisma.TransactionClient, '$queryRawUnsafe'>,
  events: OperationalEventInput[],
  deadlineSeconds: number,
): Promise<{ ref: string; eventType: string }[]> {
  if (events.length === 0) return [];
  // $queryRawUnsafe: the CTE text is composed from the fragments above; values go as parameters.
  return tx.$queryRawUnsafe<{ ref: string; eventType: string }[]>(
    `WITH src AS (
       SELECT ref, application_id, event_type, payload::jsonb AS payload
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(ref, application_id, event_type, payload)
     ), ${operationalEventCtes('src', deadlineSeconds)}
     SELECT ref, event_type AS "eventType" FROM ops_in`,
    events.map((e) => e.ref),
    events.map((e) => e.applicationId),
    events.map((e) => e.type),
    events.map((e) => JSON.stringify(e.payload)),
  );
}
