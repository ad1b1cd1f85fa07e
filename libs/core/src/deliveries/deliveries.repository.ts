import { Injectable } from '@nestjs/common';
import { Prisma, PrismaService } from '@tern/database';
import type { Priority } from '@tern/delivery-rules';
import { PageCursor } from '../common/pagination';
import type { QueryScope } from '../common/query-scope';
import type { AttemptFilter, AttemptOutcome, DeliveryFilter, DeliveryStatus } from './delivery.model';
import { fanOutCtes, notifyDispatcher } from './delivery-writes.sql';

export interface DeliveryRow {
  id: string;
  applicationId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  status: DeliveryStatus;
  priority: Priority;
  attemptCount: number;
  nextAttemptAt: Date | null;
  deadlineAt: Date;
  inFlightSince: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

export interface AttemptRow {
  id: string;
  deliveryId: string;
  applicationId: string;
  endpointId: string;
  eventId: string;
  number: number;
  outcome: AttemptOutcome;
  startedAt: Date;
  durationMs: number | null;
  url: string;
  requestHeaders: unknown;
  responseStatus: number | null;
  responseHeaders: unknown;
  responseBody: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  createdAt: Date;
}

export interface DeliveryDetailRow {
  delivery: DeliveryRow;
  /** `payload`: the JSON text as sent. */
  event: { id: string; eventType: string; payload: string; createdAt: Date };
  endpoint: { id: string; url: string };
  attempts: AttemptRow[];
}

export interface StatsWindowRow {
  attempts: number;
  succeeded: number;
  p50: number | null;
  p95: number | null;
}

export interface EndpointStatsRows {
  hour: StatsWindowRow;
  day: StatsWindowRow;
  week: StatsWindowRow;
  /** Buckets = floor(epoch seconds / 3600). Only buckets with attempts. */
  hourly: { bucket: number; attempts: number; succeeded: number }[];
  lastError: AttemptRow | null;
  lastSuccessAt: Date | null;
  failureStreak: number;
}

/** An endpoint as the delivery actions see it (deleted ones included). */
export interface EndpointStateRow {
  id: string;
  applicationId: string;
  disabled: boolean;
  deleted: boolean;
}

/** A delivery to put back in the queue: same row, pending again, due now, a fresh deadline. */
export interface RequeueSettings {
  deadlineSeconds: number;
}

const DELIVERY_COLUMNS = Prisma.raw(`
  d.id, d.application_id AS "applicationId", d.event_id AS "eventId", d.endpoint_id AS "endpointId",
  d.event_type AS "eventType", d.status::text AS status, d.attempt_count AS "attemptCount",
  d.next_attempt_at AS "nextAttemptAt", d.deadline_at AS "deadlineAt", d.in_flight_since AS "inFlightSince",
  d.last_status_code AS "lastStatusCode", d.last_error AS "lastError", d.created_at AS "createdAt",
  d.updated_at AS "updatedAt", d.completed_at AS "completedAt", d.priority::text AS priority`);

const ATTEMPT_COLUMNS = Prisma.raw(`
  a.id, a.delivery_id AS "deliveryId", a.application_id AS "applicationId", a.endpoint_id AS "endpointId",
  a.event_id AS "eventId", a.number, a.outcome::text AS outcome, a.started_at AS "startedAt",
  a.duration_ms AS "durationMs", a.url, a.request_headers AS "requestHeaders",
  a.response_status AS "responseStatus", a.response_headers AS "responseHeaders",
  a.response_body AS "responseBody", a.error_class AS "errorClass", a.error_message AS "errorMessage",
  a.created_at AS "createdAt"`);

/**
 * What re-queuing sets on a delivery (redeliver and recover): the attempt count is kept, so numbers continue, and
 * a new series starts at it, so the retry schedule starts over from its first delay.
 */
function requeueAssignments(s: RequeueSettings): Prisma.Sql {
  return Prisma.sql`status = 'pending', next_attempt_at = now(), attempt_base = d.attempt_count,
    deadline_at = now() + ${s.deadlineSeconds}::int * interval '1 second',
    completed_at = NULL, last_error = NULL, in_flight_since = NULL, released_at = NULL, updated_at = now()`;
}

function where(conds: Prisma.Sql[]): Prisma.Sql {
  return conds.length ? Prisma.sql`WHERE ${Prisma.join(conds, ' AND ')}` : Prisma.empty;
}

type Tx = Prisma.TransactionClient;

declare const endpointLocked: unique symbol;
/**
 * A transaction in which withLockedEndpoint holds the endpoint row: the only kind the re-queue and send actions
 * accept, so they cannot run without the lock that orders them against disable and delete.
 */
export type LockedEndpointTx = Tx & { readonly [endpointLocked]: true };

/**
 * Reads for support and customers (deliveries, attempts, endpoint statistics) and the delivery actions
 * (redeliver, recover, test event). Every list is keyset-paginated newest first on (time, id) and every filter
 * has an index (prisma/migrations/20261125100000_query_indexes; docs/query-performance.md).
 */
@Injectable()
export class DeliveriesRepository {
  constructor(private readonly prisma: PrismaService) {}

  // ---- reads ---------------------------------------------------------------------------------------------

  /** Newest first; `limit + 1` rows for toPage(). */
  listDeliveries(
    scope: QueryScope,
    filter: DeliveryFilter,
    limit: number,
    after?: PageCursor,
  ): Promise<DeliveryRow[]> {
    const c: Prisma.Sql[] = [];
    if (scope.applicationId !== undefined) c.push(Prisma.sql`d.application_id = ${scope.applicationId}`);
    if (filter.endpointId !== undefined) c.push(Prisma.sql`d.endpoint_id = ${filter.endpointId}`);
    if (filter.eventId !== undefined) c.push(Prisma.sql`d.event_id = ${filter.eventId}`);
    if (filter.eventType !== undefined) c.push(Prisma.sql`d.event_type = ${filter.eventType}`);
    if (filter.status !== undefined) c.push(Prisma.sql`d.status = ${filter.status}::delivery_status`);
    if (filter.since) c.push(Prisma.sql`d.created_at >= ${filter.since}::timestamptz`);
    if (filter.until) c.push(Prisma.sql`d.created_at < ${filter.until}::timestamptz`);
    if (after) c.push(Prisma.sql`(d.created_at, d.id) < (${after.createdAt}::timestamptz, ${after.id})`);
    return this.prisma.$queryRaw<DeliveryRow[]>`
      SELECT ${DELIVERY_COLUMNS} FROM deliveries d ${where(c)}
      ORDER BY d.created_at DESC, d.id DESC LIMIT ${limit + 1}::int`;
  }

  /** Newest first by startedAt; `limit + 1` rows. */
  listAttempts(
    scope: QueryScope,
    filter: AttemptFilter,
    limit: number,
    after?: PageCursor,
  ): Promise<AttemptRow[]> {
    const c: Prisma.Sql[] = [];
    if (scope.applicationId !== undefined) c.push(Prisma.sql`a.application_id = ${scope.applicationId}`);
    if (filter.endpointId !== undefined) c.push(Prisma.sql`a.endpoint_id = ${filter.endpointId}`);
    // An event's attempts are its deliveries' (deliveries_event_id_endpoint_id_key, then
    // attempts_delivery_id_number_idx): attempts.event_id has no index of its own, one write fewer per attempt.
    if (filter.eventId !== undefined)
      c.push(
        Prisma.sql`a.delivery_id IN (SELECT ed.id FROM deliveries ed WHERE ed.event_id = ${filter.eventId})
          AND a.event_id = ${filter.eventId}`,
      );
    if (filter.deliveryId !== undefined) c.push(Prisma.sql`a.delivery_id = ${filter.deliveryId}`);
    if (filter.outcome !== undefined) c.push(Prisma.sql`a.outcome = ${filter.outcome}::attempt_outcome`);
    if (filter.statusCode !== undefined) c.push(Prisma.sql`a.response_status = ${filter.statusCode}::int`);
    if (filter.since) c.push(Prisma.sql`a.started_at >= ${filter.since}::timestamptz`);
    if (filter.until) c.push(Prisma.sql`a.started_at < ${filter.until}::timestamptz`);
    if (after) c.push(Prisma.sql`(a.started_at, a.id) < (${after.createdAt}::timestamptz, ${after.id})`);
    return this.prisma.$queryRaw<AttemptRow[]>`
      SELECT ${ATTEMPT_COLUMNS} FROM attempts a ${where(c)}
      ORDER BY a.started_at DESC, a.id DESC LIMIT ${limit + 1}::int`;
  }

  /**
   * The delivery, its event, endpoint and attempts as of one moment: both statements read one snapshot (REPEATABLE
   * READ, read only). Read in two snapshots, a record committed between them showed a delivery still pending next
   * to its succeeded attempt.
   */
  findDeliveryDetail(scope: QueryScope, id: string): Promise<DeliveryDetailRow | null> {
    return this.prisma.$transaction((tx) => this.readDeliveryDetail(tx, scope, id), {
      isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead,
    });
  }

  private async readDeliveryDetail(
    tx: Prisma.TransactionClient,
    scope: QueryScope,
    id: string,
  ): Promise<DeliveryDetailRow | null> {
    await tx.$executeRaw`SET TRANSACTION READ ONLY`;
    const rows = await tx.$queryRaw<
      (DeliveryRow & {
        evType: string;
        evPayload: string;
        evCreatedAt: Date;
        epUrl: string;
      })[]
    >`
      SELECT ${DELIVERY_COLUMNS}, e.event_type AS "evType", e.payload AS "evPayload",
             e.created_at AS "evCreatedAt", ep.url AS "epUrl"
      FROM deliveries d
      JOIN events e ON e.id = d.event_id
      JOIN endpoints ep ON ep.id = d.endpoint_id
      WHERE d.id = ${id} ${this.scoped('d', scope)}`;
    const r = rows[0];
    if (!r) return null;
    const attempts = await tx.$queryRaw<AttemptRow[]>`
      SELECT ${ATTEMPT_COLUMNS} FROM attempts a WHERE a.delivery_id = ${id}
      ORDER BY a.number, a.started_at, a.id`;
    const { evType, evPayload, evCreatedAt, epUrl, ...delivery } = r;
    return {
      delivery,
      event: { id: r.eventId, eventType: evType, payload: evPayload, createdAt: evCreatedAt },
      endpoint: { id: r.endpointId, url: epUrl },
      attempts,
    };
  }

  /** Whether a row with this id exists within the scope (endpoints: deleted ones included). */
  async exists(
    table: 'endpoints' | 'events' | 'deliveries',
    scope: QueryScope,
    id: string,
  ): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ one: number }[]>`
      SELECT 1 AS one FROM ${Prisma.raw(table)} t WHERE t.id = ${id} ${this.scoped('t', scope)}`;
    return rows.length > 0;
  }

  /** The application an endpoint (live, not deleted) or event belongs to, or null. */
  /** The application a live endpoint, an event or a delivery belongs to (one indexed lookup, nothing else read). */
  async applicationOf(kind: 'endpoint' | 'event' | 'delivery', id: string): Promise<string | null> {
    const rows =
      kind === 'endpoint'
        ? await this.prisma.$queryRaw<{ applicationId: string }[]>`
            SELECT application_id AS "applicationId" FROM endpoints WHERE id = ${id} AND deleted_at IS NULL`
        : kind === 'event'
          ? await this.prisma.$queryRaw<{ applicationId: string }[]>`
              SELECT application_id AS "applicationId" FROM events WHERE id = ${id}`
          : await this.prisma.$queryRaw<{ applicationId: string }[]>`
              SELECT application_id AS "applicationId" FROM deliveries WHERE id = ${id}`;
    return rows[0]?.applicationId ?? null;
  }

  async findEndpoint(scope: QueryScope, id: string): Promise<EndpointStateRow | null> {
    const rows = await this.prisma.$queryRaw<EndpointStateRow[]>`
      SELECT t.id, t.application_id AS "applicationId", t.disabled, t.deleted_at IS NOT NULL AS deleted
      FROM endpoints t WHERE t.id = ${id} ${this.scoped('t', scope)}`;
    return rows[0] ?? null;
  }

  /**
   * Attempt statistics of one endpoint: the hour, day and week before `now` and the last 24 hourly buckets (one
   * index range scan over the week), the latest non-successful attempt and the failure streak since the latest
   * success (a few index probes). Cost grows with the endpoint's attempts in the last week.
   */
  async endpointStats(endpointId: string, now: Date): Promise<EndpointStatsRows> {
    const hourAgo = new Date(now.getTime() - 3_600_000);
    const dayAgo = new Date(now.getTime() - 86_400_000);
    const weekAgo = new Date(now.getTime() - 7 * 86_400_000);
    const firstHour = new Date((Math.floor(now.getTime() / 3_600_000) - 23) * 3_600_000);
    // One JSON object per window, typed as StatsWindowRow (counts are ints, percentiles ints or null).
    const window = (from: Date) =>
      Prisma.sql`json_build_object(
        'attempts', count(*) FILTER (WHERE a.started_at >= ${from}::timestamptz)::int,
        'succeeded', count(*) FILTER (WHERE a.started_at >= ${from}::timestamptz AND a.outcome = 'succeeded')::int,
        'p50', percentile_disc(0.5) WITHIN GROUP (ORDER BY a.duration_ms) FILTER (WHERE a.started_at >= ${from}::timestamptz),
        'p95', percentile_disc(0.95) WITHIN GROUP (ORDER BY a.duration_ms) FILTER (WHERE a.started_at >= ${from}::timestamptz))`;
    type WindowsRow = Pick<EndpointStatsRows, 'hour' | 'day' | 'week' | 'hourly'>;
    const [windows, lastError, lastSuccess] = await Promise.all([
      // The week's attempts are read once (index range + heap), then aggregated per window and per hour.
      this.prisma.$queryRaw<WindowsRow[]>`
        WITH a AS MATERIALIZED (
          SELECT started_at, outcome, duration_ms FROM attempts
          WHERE endpoint_id = ${endpointId} AND started_at >= ${weekAgo}::timestamptz
            AND started_at <= ${now}::timestamptz
        ), h AS (
          SELECT floor(extract(epoch FROM a.started_at) / 3600)::int AS bucket, count(*)::int AS attempts,
                 count(*) FILTER (WHERE a.outcome = 'succeeded')::int AS succeeded
          FROM a WHERE a.started_at >= ${firstHour}::timestamptz
          GROUP BY 1
        )
        SELECT ${window(hourAgo)} AS hour, ${window(dayAgo)} AS day, ${window(weekAgo)} AS week,
               (SELECT coalesce(json_agg(h), '[]'::json) FROM h) AS hourly
        FROM a`,
      // One index probe per non-success outcome (endpoint_id, outcome, started_at DESC, id DESC), newest wins.
      this.prisma.$queryRaw<AttemptRow[]>`
        SELECT x.* FROM unnest(ARRAY['failed', 'retrying', 'interrupted']::attempt_outcome[]) o(outcome)
        CROSS JOIN LATERAL (
          SELECT ${ATTEMPT_COLUMNS} FROM attempts a
          WHERE a.endpoint_id = ${endpointId} AND a.outcome = o.outcome
          ORDER BY a.started_at DESC, a.id DESC LIMIT 1) x
        ORDER BY x."startedAt" DESC, x.id DESC LIMIT 1`,
      this.prisma.$queryRaw<{ id: string; startedAt: Date }[]>`
        SELECT a.id, a.started_at AS "startedAt" FROM attempts a
        WHERE a.endpoint_id = ${endpointId} AND a.outcome = 'succeeded'
        ORDER BY a.started_at DESC, a.id DESC LIMIT 1`,
    ]);
    const ok = lastSuccess[0];
    const streak = await this.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM attempts a
      WHERE a.endpoint_id = ${endpointId} AND a.outcome IN ('failed', 'retrying')
        ${
          ok
            ? Prisma.sql`AND a.started_at >= ${ok.startedAt}::timestamptz
                AND (a.started_at, a.id) > (${ok.startedAt}::timestamptz, ${ok.id})`
            : Prisma.empty
        }`;
    // An aggregate without GROUP BY always returns its one row.
    const { hour, day, week, hourly } = windows[0];
    return {
      hour,
      day,
      week,
      hourly,
      lastError: lastError[0] ?? null,
      lastSuccessAt: ok?.startedAt ?? null,
      failureStreak: streak[0]?.n ?? 0,
    };
  }

  // ---- actions -------------------------------------------------------------------------------------------

  /**
   * Runs `fn` in a transaction after locking the endpoint row FOR SHARE (so a concurrent disable or delete waits
   * for it, or it sees theirs). Endpoint first, deliveries second: the order disable/delete lock them in.
   */
  withLockedEndpoint<T>(
    scope: QueryScope,
    endpointId: string,
    fn: (endpoint: EndpointStateRow | null, tx: LockedEndpointTx) => Promise<T>,
  ): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<EndpointStateRow[]>`
        SELECT t.id, t.application_id AS "applicationId", t.disabled, t.deleted_at IS NOT NULL AS deleted
        FROM endpoints t WHERE t.id = ${endpointId} ${this.scoped('t', scope)} FOR SHARE`;
      return fn(rows[0] ?? null, tx as LockedEndpointTx);
    });
  }

  /** The endpoint and status of a delivery within scope (no lock), or null. */
  async findDeliveryState(
    scope: QueryScope,
    id: string,
  ): Promise<{ endpointId: string; status: DeliveryStatus } | null> {
    const rows = await this.prisma.$queryRaw<{ endpointId: string; status: DeliveryStatus }[]>`
      SELECT d.endpoint_id AS "endpointId", d.status::text AS status
      FROM deliveries d WHERE d.id = ${id} ${this.scoped('d', scope)}`;
    return rows[0] ?? null;
  }

  /**
   * Inside withLockedEndpoint: locks the delivery and, if it is finished (succeeded or failed), makes it pending
   * again — releasable — and NOTIFYs the dispatchers (sent on commit). Returns the updated row, or its current status when it
   * is pending, or null when it is gone.
   */
  async requeueDelivery(
    tx: LockedEndpointTx,
    id: string,
    settings: RequeueSettings,
  ): Promise<{ row: DeliveryRow } | { pending: true } | null> {
    const cur = await tx.$queryRaw<{ status: DeliveryStatus }[]>`
      SELECT status::text AS status FROM deliveries WHERE id = ${id} FOR UPDATE`;
    if (!cur[0]) return null;
    if (cur[0].status === 'pending') return { pending: true };
    const rows = await tx.$queryRaw<DeliveryRow[]>`
      WITH upd AS (
        UPDATE deliveries d SET ${requeueAssignments(settings)}
        WHERE d.id = ${id}
        RETURNING ${DELIVERY_COLUMNS}
      )
      SELECT * FROM upd`;
    await notifyDispatcher(tx);
    return { row: rows[0] };
  }

  /**
   * Inside withLockedEndpoint: re-queues up to `max` failed deliveries of the endpoint created in [since, until),
   * oldest first (releasable again), plus one NOTIFY. Returns how many, and the createdAt of the first one
   * left over (null when none).
   */
  async requeueFailed(
    tx: LockedEndpointTx,
    endpointId: string,
    since: Date,
    until: Date,
    max: number,
    settings: RequeueSettings,
  ): Promise<{ requeued: number; nextFrom: Date | null }> {
    const rows = await tx.$queryRaw<{ requeued: number; nextFrom: Date | null }[]>`
      WITH target AS (
        SELECT id, created_at FROM deliveries
        WHERE endpoint_id = ${endpointId} AND status = 'failed'
          AND created_at >= ${since}::timestamptz AND created_at < ${until}::timestamptz
        ORDER BY created_at, id
        LIMIT ${max + 1}::int
        FOR UPDATE
      ), chosen AS (
        SELECT id FROM target ORDER BY created_at, id LIMIT ${max}::int
      ), upd AS (
        UPDATE deliveries d SET ${requeueAssignments(settings)}
        FROM chosen WHERE d.id = chosen.id
        RETURNING d.id
      )
      SELECT (SELECT count(*) FROM upd)::int AS requeued,
             (SELECT created_at FROM target ORDER BY created_at, id OFFSET ${max}::int LIMIT 1) AS "nextFrom"`;
    const r = rows[0] ?? { requeued: 0, nextFrom: null };
    if (r.requeued > 0) await notifyDispatcher(tx);
    return r;
  }

  /**
   * Inside withLockedEndpoint: writes an event with exactly one delivery (to this endpoint, whatever its event
   * type filter), releasable, plus a NOTIFY — the same rows POST /v1/events writes.
   */
  async insertSingleDeliveryEvent(
    tx: LockedEndpointTx,
    e: { id: string; applicationId: string; endpointId: string; eventType: string; payloadJson: string },
    settings: RequeueSettings,
  ): Promise<{ eventId: string; deliveryId: string }> {
    const rows = await tx.$queryRaw<{ eventId: string; deliveryId: string }[]>`
      WITH target AS (
        -- A single-delivery event has no partition key: unordered whatever the endpoint's ordering.
        SELECT ${e.endpointId}::text AS id, 'none'::endpoint_ordering AS ordering
      ), ins AS (
        INSERT INTO events (id, application_id, event_type, payload, idempotency_key, created_at)
        VALUES (${e.id}, ${e.applicationId}, ${e.eventType}, ${e.payloadJson}, NULL, now())
        RETURNING id, application_id, event_type, created_at, priority, partition_key, partition_seq
      ), ${Prisma.raw(fanOutCtes('ev', 'ins', 'CROSS JOIN target ep', settings.deadlineSeconds))}
      SELECT event_id AS "eventId", id AS "deliveryId" FROM ev_dlv`;
    await notifyDispatcher(tx);
    return rows[0];
  }

  private scoped(alias: string, scope: QueryScope): Prisma.Sql {
    return scope.applicationId === undefined
      ? Prisma.empty
      : Prisma.sql`AND ${Prisma.raw(alias)}.application_id = ${scope.applicationId}`;
  }
}
