import { Injectable } from '@nestjs/common';
import { databaseFailure, isStatementError, Prisma, PrismaService } from '@tern/database';
import type { Priority } from '@tern/delivery-rules';
import { keysetAfter, newestFirst, PageCursor } from '../common/pagination';
import type { DeliveryStatus } from '../deliveries/delivery.model';
import { fanOutCtes, notifyDispatcher, subscribedEndpointSql } from '../deliveries/delivery-writes.sql';
import { FILTER_CHANGED_SQLSTATE, filterGuardCtes } from '../endpoints/endpoint-filter.sql';

/** An event ready to be written: validated, id assigned, payload serialised. */
export interface NewEventRow {
  id: string;
  applicationId: string;
  eventType: string;
  /** The payload's JSON text as the producer sent it (stored as text, delivered and signed as is). */
  payloadJson: string;
  idempotencyKey: string | null;
  priority: Priority;
  /** Null: unordered. */
  partitionKey: string | null;
}

/** An event just written, or found again by its idempotency key. */
export interface EventSummaryRecord {
  id: string;
  eventType: string;
  priority: Priority;
  partitionKey: string | null;
  createdAt: Date;
  deliveryCount: number;
  /** Deliveries an endpoint's filter left out (0 for an event found again by its key). */
  filteredCount?: number;
}

/**
 * The endpoint filters a fan-out applies (see EndpointFilterCache and filteredOutPairs): the pairs to leave out,
 * and the filters they were computed from — the statement refuses (FILTER_CHANGED_SQLSTATE) to write if any live
 * standard endpoint of the events' applications now has another filter, or one it was not given.
 */
export interface FanOutFilters {
  /** Endpoint ids and the filterDigest of the filter used for each (parallel arrays). */
  knownEndpointIds: string[];
  knownDigests: string[];
  /** The (event, endpoint) pairs that get no delivery (parallel arrays). */
  excludedEventIds: string[];
  excludedEndpointIds: string[];
}

/** No filter known and nothing left out (the guard still checks that no endpoint has a filter). */
export const NO_FAN_OUT_FILTERS: FanOutFilters = {
  knownEndpointIds: [],
  knownDigests: [],
  excludedEventIds: [],
  excludedEndpointIds: [],
};

export interface KeyedEventRecord extends EventSummaryRecord {
  idempotencyKey: string;
  /** The payload text stored with the key (compared with a repeat's). */
  payload: string;
  /** Older than the idempotency window: the key may be given to a new event. */
  expired: boolean;
}

export interface EventRecord {
  id: string;
  eventType: string;
  priority: Priority;
  partitionKey: string | null;
  idempotencyKey: string | null;
  createdAt: Date;
}

export interface EventDeliveryRecord {
  id: string;
  endpointId: string;
  status: DeliveryStatus;
  priority: Priority;
  attemptCount: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

export interface EventDetailRecord extends EventRecord {
  /** JSON text, as sent. */
  payload: string;
  deliveries: EventDeliveryRecord[];
}

export interface EventListFilter {
  eventType?: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
}

/** The columns of an EventRecord (list and detail). */
const EVENT_RECORD_SELECT = {
  id: true,
  eventType: true,
  priority: true,
  partitionKey: true,
  idempotencyKey: true,
  createdAt: true,
} as const;

@Injectable()
export class EventsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Writes events, their deliveries (one per enabled, non-deleted endpoint of the event's application subscribed
   * to its type) and one outbox row per delivery: one SQL statement, so all or nothing. Rows may belong to
   * different applications. An event whose idempotency key its application already used is skipped (ON CONFLICT
   * waits for an in-flight insert of the same key to commit or roll back first). Returns the events written, in
   * no particular order.
   *
   * With `reclaimKeysOlderThanSeconds`, the keys of the given events are first taken off events older than that
   * (in the same transaction), so those keys can be used again.
   * Deliveries go to standard endpoints only (operational events are written by operational-events.sql.ts).
   */
  async insertWithDeliveries(
    events: NewEventRow[],
    opts: {
      deadlineSeconds: number;
      /** Endpoint filters to apply; default NO_FAN_OUT_FILTERS. */
      filters?: FanOutFilters;
      reclaimKeysOlderThanSeconds?: number;
      /**
       * Called inside the transaction with the keyed rows that were not inserted (their key is held) and the
       * holders of those keys (committed: ON CONFLICT waited for them). Throwing rolls the whole write back — a
       * batch with a key reused for a different event writes nothing, even when the other event landed after
       * the caller's own check. Needs `reclaimKeysOlderThanSeconds` (the batch path).
       */
      checkHeld?: (notInserted: NewEventRow[], held: KeyedEventRecord[]) => void;
      /** With checkHeld: the idempotency window, for KeyedEventRecord.expired. */
      windowSeconds?: number;
    },
  ): Promise<EventSummaryRecord[]> {
    if (events.length === 0) return [];
    const insert = this.insertStatement(events, opts.deadlineSeconds, opts.filters ?? NO_FAN_OUT_FILTERS);
    const keyed = events.filter((e) => e.idempotencyKey !== null);
    if (opts.reclaimKeysOlderThanSeconds === undefined || keyed.length === 0) {
      return this.prisma.$queryRaw<EventSummaryRecord[]>(insert);
    }
    const reclaimAfter = opts.reclaimKeysOlderThanSeconds;
    const apps = keyed.map((e) => e.applicationId);
    const keys = keyed.map((e) => e.idempotencyKey);
    return this.prisma.$transaction(async (tx) => {
      // The expired holders are locked in one global order (by id) before they are updated: two batches
      // reclaiming overlapping keys wait for each other instead of deadlocking (40P01) on each other's rows.
      await tx.$executeRaw`
        UPDATE events e SET idempotency_key = NULL
        WHERE e.id IN (
          SELECT h.id FROM events h
          JOIN unnest(${apps}::text[], ${keys}::text[]) AS k(application_id, idempotency_key)
            ON h.application_id = k.application_id AND h.idempotency_key = k.idempotency_key
          WHERE h.created_at < now() - ${reclaimAfter}::int * interval '1 second'
          ORDER BY h.id
          FOR UPDATE OF h
        )`;
      const inserted = await tx.$queryRaw<EventSummaryRecord[]>(insert);
      if (opts.checkHeld && inserted.length < events.length) {
        const written = new Set(inserted.map((r) => r.id));
        const notInserted = keyed.filter((e) => !written.has(e.id));
        const byApp = new Map<string, string[]>();
        for (const e of notInserted) {
          byApp.set(e.applicationId, [...(byApp.get(e.applicationId) ?? []), e.idempotencyKey as string]);
        }
        const held: KeyedEventRecord[] = [];
        for (const [app, appKeys] of byApp) {
          held.push(...(await heldKeys(tx, app, appKeys, opts.windowSeconds ?? reclaimAfter)));
        }
        opts.checkHeld(notInserted, held);
      }
      return inserted;
    }, KEYED_WRITE_TRANSACTION);
  }

  /**
   * How many deliveries events of these types would get now: per type, the application's standard endpoints
   * subscribed to it (the fan-out's own condition). Keyed by type.
   */
  async countSubscribed(applicationId: string, eventTypes: string[]): Promise<Map<string, number>> {
    const rows = await this.prisma.$queryRawUnsafe<{ event_type: string; n: number }[]>(
      `SELECT t.event_type, count(ep.id)::int AS n
       FROM unnest($2::text[]) AS t(event_type)
       LEFT JOIN endpoints ep ON ${subscribedEndpointSql('ep', '$1', 't.event_type', 'standard')}
       GROUP BY 1`,
      applicationId,
      [...new Set(eventTypes)],
    );
    return new Map(rows.map((r) => [r.event_type, r.n]));
  }

  /** True when Postgres itself rejected a statement: it was rolled back (see databaseFailure). */
  isStatementError(err: unknown): boolean {
    return isStatementError(err);
  }

  /** True when a write was refused because an endpoint's filter changed since the caller read it (rolled back). */
  isFilterChanged(err: unknown): boolean {
    const f = databaseFailure(err);
    return f.kind === 'statement' && f.sqlState === FILTER_CHANGED_SQLSTATE;
  }

  /** The application's events holding these idempotency keys, with their delivery counts. */
  findByIdempotencyKeys(
    applicationId: string,
    keys: string[],
    windowSeconds: number,
  ): Promise<KeyedEventRecord[]> {
    return heldKeys(this.prisma, applicationId, keys, windowSeconds);
  }

  async findDetail(applicationId: string, id: string): Promise<EventDetailRecord | null> {
    const row = await this.prisma.event.findFirst({
      where: { id, applicationId },
      select: {
        ...EVENT_RECORD_SELECT,
        payload: true,
        deliveries: {
          select: {
            id: true,
            endpointId: true,
            status: true,
            priority: true,
            attemptCount: true,
            nextAttemptAt: true,
            lastStatusCode: true,
            lastError: true,
            createdAt: true,
            completedAt: true,
          },
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        },
      },
    });
    return row;
  }

  /** Newest first; `limit + 1` rows so the caller can tell whether there is a next page. No payloads. */
  list(
    applicationId: string,
    filter: EventListFilter,
    limit: number,
    after?: PageCursor,
  ): Promise<EventRecord[]> {
    const createdAt: { gte?: Date; lt?: Date } = {};
    if (filter.since) createdAt.gte = filter.since;
    if (filter.until) createdAt.lt = filter.until;
    return this.prisma.event.findMany({
      where: {
        applicationId,
        ...(filter.eventType !== undefined ? { eventType: filter.eventType } : {}),
        ...(filter.since || filter.until ? { createdAt } : {}),
        ...keysetAfter(after),
      },
      select: EVENT_RECORD_SELECT,
      orderBy: newestFirst(),
      take: limit + 1,
    });
  }

  /**
   * Tells the dispatchers (LISTEN tern_dispatch) that rows are waiting. Its own tiny transaction, after the
   * write committed: see DispatchWaker for why the notify is not part of the write.
   */
  async wakeDispatcher(): Promise<void> {
    await notifyDispatcher(this.prisma);
  }

  /**
   * The whole write as data-modifying CTEs. Every CTE runs in the statement's one snapshot and transaction
   * (data-modifying CTEs always run to completion, referenced or not): `ins` returns only the events actually
   * inserted, so deliveries and outbox rows exist exactly for those. Endpoint filters: `filtered_out` holds the
   * pairs left out; `filter_guard` (joined by the final SELECT, so it runs whenever an event is inserted) fails the
   * statement if the filters they were computed from are no longer the endpoints' (same snapshot as the fan-out).
   */
  private insertStatement(
    events: NewEventRow[],
    deadlineSeconds: number,
    filters: FanOutFilters,
  ): Prisma.Sql {
    const appIds = events.map((e) => e.applicationId);
    const ids = events.map((e) => e.id);
    const types = events.map((e) => e.eventType);
    const payloads = events.map((e) => e.payloadJson);
    const keys = events.map((e) => e.idempotencyKey);
    const priorities = events.map((e) => e.priority);
    const partitionKeys = events.map((e) => e.partitionKey);
    return Prisma.sql`
      WITH input AS MATERIALIZED (
        -- partition_seq in the rows' order (unnest returns them in array order): a batch keeps its order in a key.
        SELECT t.*, CASE WHEN t.partition_key IS NOT NULL THEN nextval('partition_seq') END AS partition_seq
        FROM unnest(${appIds}::text[], ${ids}::text[], ${types}::text[], ${payloads}::text[], ${keys}::text[],
                    ${priorities}::event_priority[], ${partitionKeys}::text[])
          WITH ORDINALITY AS t(application_id, id, event_type, payload, idempotency_key, priority, partition_key, ord)
      ), ins AS (
        INSERT INTO events (id, application_id, event_type, payload, idempotency_key, created_at, priority,
                            partition_key, partition_seq)
        SELECT id, application_id, event_type, payload, idempotency_key, now(), priority, partition_key, partition_seq
        -- Keys in one global order: concurrent statements with overlapping keys wait, never deadlock.
        FROM input ORDER BY application_id, idempotency_key, ord
        ON CONFLICT (application_id, idempotency_key) DO NOTHING
        RETURNING id, application_id, event_type, created_at, priority, partition_key, partition_seq
      ), known_filters AS (
        SELECT * FROM unnest(${filters.knownEndpointIds}::text[], ${filters.knownDigests}::text[]) AS k(id, digest)
      ), ${Prisma.raw(filterGuardCtes('SELECT application_id FROM input', 'known_filters'))}, filtered_out AS (
        SELECT * FROM unnest(${filters.excludedEventIds}::text[], ${filters.excludedEndpointIds}::text[])
          AS x(event_id, endpoint_id)
      ), ${Prisma.raw(fanOutCtes('ev', 'ins', FILTERED_FAN_OUT_JOIN, deadlineSeconds))}, counts AS (
        SELECT event_id, count(*)::int AS n FROM ev_dlv GROUP BY event_id
      ), filtered AS (
        SELECT x.event_id, count(*)::int AS n
        FROM filtered_out x JOIN ins i ON i.id = x.event_id
        JOIN endpoints ep ON ep.id = x.endpoint_id
          AND ${Prisma.raw(subscribedEndpointSql('ep', 'i.application_id', 'i.event_type', 'standard'))}
        GROUP BY x.event_id
      )
      SELECT i.id, i.event_type AS "eventType", i.priority::text AS priority, i.partition_key AS "partitionKey",
             i.created_at AS "createdAt", coalesce(c.n, 0) AS "deliveryCount", coalesce(f.n, 0) AS "filteredCount"
      FROM ins i LEFT JOIN counts c ON c.event_id = i.id LEFT JOIN filtered f ON f.event_id = i.id
      CROSS JOIN filter_guard`;
  }
}

/**
 * The standard endpoints subscribed to each event `i` (as subscribedEndpointsJoin), less the pairs of CTE
 * `filtered_out` (columns event_id, endpoint_id).
 */
const FILTERED_FAN_OUT_JOIN = `JOIN endpoints ep ON ${subscribedEndpointSql('ep', 'i.application_id', 'i.event_type', 'standard')}
          AND NOT EXISTS (SELECT 1 FROM filtered_out x WHERE x.event_id = i.id AND x.endpoint_id = ep.id)`;

/** A keyed batch write: wait for a pooled connection and run for at most these (ms); rolled back past them. */
const KEYED_WRITE_TRANSACTION = { maxWait: 10_000, timeout: 30_000 };

/** The events holding these idempotency keys of an application, with their delivery counts. */
function heldKeys(
  db: Pick<Prisma.TransactionClient, '$queryRaw'>,
  applicationId: string,
  keys: string[],
  windowSeconds: number,
): Promise<KeyedEventRecord[]> {
  if (keys.length === 0) return Promise.resolve([]);
  return db.$queryRaw<KeyedEventRecord[]>`
    SELECT e.id, e.event_type AS "eventType", e.priority::text AS priority, e.partition_key AS "partitionKey",
           e.created_at AS "createdAt",
           e.idempotency_key AS "idempotencyKey", e.payload,
           e.created_at < now() - ${windowSeconds}::int * interval '1 second' AS expired,
           (SELECT count(*) FROM deliveries d WHERE d.event_id = e.id)::int AS "deliveryCount"
    FROM events e
    WHERE e.application_id = ${applicationId} AND e.idempotency_key = ANY (${keys}::text[])`;
}
