import type { Prisma } from '@tern/database';
import type { EndpointKind } from '../endpoints/endpoints.repository';
import { DISPATCH_CHANNEL } from '../queue/queue.constants';

/**
 * The statements that write deliveries, declared once: the fan-out of events into releasable deliveries, the
 * dispatcher's wake-up and "fail a pending delivery". Plain SQL text (callers splice it into
 * `$queryRawUnsafe` statements or wrap it in `Prisma.raw`); the only values inlined are SQL names and expressions
 * chosen by the caller and integers checked here.
 */

/** `ep` (an endpoints alias) takes events of application `app` and type `type` (SQL expressions). */
export function subscribedEndpointSql(ep: string, app: string, type: string, kind: EndpointKind): string {
  return `${ep}.application_id = ${app} AND ${ep}.kind = '${kind}' AND NOT ${ep}.disabled
          AND ${ep}.deleted_at IS NULL
          AND (coalesce(cardinality(${ep}.event_types), 0) = 0 OR ${type} = ANY (${ep}.event_types))`;
}

/** Joins the endpoints of `kind` subscribed to each event `i` as `ep` (for fanOutCtes). */
export function subscribedEndpointsJoin(kind: EndpointKind): string {
  return `JOIN endpoints ep ON ${subscribedEndpointSql('ep', 'i.application_id', 'i.event_type', kind)}`;
}

export function secondsSql(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a number of seconds: ${n}`);
  return `${n}::int * interval '1 second'`;
}

/** Starts `CASE … END`: the event's value when endpoint `ep` orders by partition key (else NULL). */
const ORDERED_AT_FAN_OUT = `CASE WHEN ep.ordering = 'partitioned' AND i.partition_key IS NOT NULL THEN `;

/**
 * CTE `<p>_dlv`: one pending delivery, due now and not released (so the dispatcher's to release: the releasable set
 * is the outbox), per endpoint `ep` joined to each row `i` of CTE `events` — columns id, application_id,
 * event_type, created_at, priority, partition_key, partition_seq — by `join`, e.g. subscribedEndpointsJoin. The
 * delivery copies the event's priority (the releasable index orders by it), and its partition key and sequence
 * number only when the endpoint orders by them (ordering partitioned): a delivery with a partition key is ordered
 * (deliveries_partition_idx), one without is not (deliveries_releasable_idx). Returns id, event_id.
 */
export function fanOutCtes(p: string, events: string, join: string, deadlineSeconds: number): string {
  return `${p}_dlv AS (
        INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, attempt_count,
                                next_attempt_at, deadline_at, created_at, updated_at,
                                priority, partition_key, partition_seq)
        SELECT tern_id('dlv'), i.application_id, i.id, ep.id, i.event_type, 'pending', 0,
               now(), i.created_at + ${secondsSql(deadlineSeconds)}, now(), now(),
               i.priority, ${ORDERED_AT_FAN_OUT}i.partition_key END, ${ORDERED_AT_FAN_OUT}i.partition_seq END
        FROM ${events} i ${join}
        RETURNING id, event_id
      )`;
}

/**
 * A WHERE condition for an UPDATE of many pending deliveries (`where`: an SQL condition on `deliveries`): locks them
 * in id order first, the order claim() and record() take delivery locks in. Locked in whatever order the scan
 * returned them (physical, or an endpoint index's), a bulk fail and a worker's claim of a job's deliveries each
 * held a row the other wanted next: a deadlock, and the endpoint's DELETE answered 500 (bench fairness phase, an
 * endpoint with 44,000 pending deliveries while the worker drained them).
 */
export function pendingInIdOrderSql(where: string): string {
  return `id IN (SELECT id FROM deliveries WHERE (${where}) AND status = 'pending' ORDER BY id FOR UPDATE)
          AND status = 'pending'`;
}

/**
 * The SET list that ends a pending delivery as failed with `lastError` (an SQL expression): nothing due, nothing in
 * flight (so a redelivery is not taken for an attempt still running), completed now.
 */
export function failDeliverySetSql(lastError: string): string {
  return `status = 'failed', last_error = ${lastError}, next_attempt_at = NULL, in_flight_since = NULL,
          released_at = NULL, completed_at = now(), updated_at = now()`;
}

/**
 * Tells the dispatchers (LISTEN DISPATCH_CHANNEL) that deliveries are waiting; inside a transaction it is delivered
 * on commit.
 */
export async function notifyDispatcher(db: Pick<Prisma.TransactionClient, '$executeRaw'>): Promise<void> {
  await db.$executeRaw`SELECT pg_notify(${DISPATCH_CHANNEL}, '')`;
}
