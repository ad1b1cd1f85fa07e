import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { DEFAULT_PRIORITY, filteredOutPairs, isPriority, PRIORITIES } from '@tern/delivery-rules';
import {
  ConflictError,
  FieldProblem,
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
} from '../common/errors';
import { isId, newId } from '../common/ids';
import { Page, PageCursor, toPage } from '../common/pagination';
import { ApplicationFilters, EndpointFilterCache } from '../endpoints/endpoint-filter-cache';
import { EVENT_TYPE_PATTERN } from '../endpoints/endpoint-rules';
import { isPartitionKey, PARTITION_KEY_REASON } from '../ordering/ordering.model';
import { IDEMPOTENCY_KEY_PATTERN, NewEventInput } from './event-input';
import {
  EventListFilter,
  EventsRepository,
  FanOutFilters,
  EventSummaryRecord,
  KeyedEventRecord,
  NewEventRow,
} from './events.repository';
import {
  AcceptedEventView,
  BatchItemView,
  EventDetailView,
  EventListItemView,
  toAcceptedEventView,
  toEventDetailView,
  toEventListItemView,
} from './events.views';
import { InsertCoalescer } from './insert-coalescer';
import { checkPayloadText } from './payload-text';
import { DispatchWaker } from './dispatch-waker';

/** How often a write is retried when its idempotency key changes hands under it (a concurrent reuse). */
const KEY_RACE_RETRIES = 3;
/** How often a write is retried when an endpoint's filter changes under it (see EndpointFilterCache). */
const FILTER_RACE_RETRIES = 3;

/** One event written (or found again by its key), and how many deliveries endpoint filters left out of it. */
interface WriteResult {
  view: AcceptedEventView;
  duplicate: boolean;
  filteredCount: number;
}

type InsertOptions = Omit<Parameters<EventsRepository['insertWithDeliveries']>[1], 'filters'>;

@Injectable()
export class EventsService implements OnModuleDestroy {
  private readonly logger = new Logger(EventsService.name);
  private readonly relayWaker: DispatchWaker;
  private readonly singles: InsertCoalescer<NewEventRow, EventSummaryRecord>;

  constructor(
    private readonly repo: EventsRepository,
    private readonly config: AppConfig,
    private readonly filters: EndpointFilterCache,
  ) {
    this.relayWaker = new DispatchWaker(
      () => this.repo.wakeDispatcher(),
      (err) => this.logger.warn(`Could not wake the dispatchers (they poll): ${String(err)}`),
    );
    // Half the pool for event writes leaves the rest to authentication and reads.
    this.singles = new InsertCoalescer(
      (rows) => this.insert(rows, { deadlineSeconds: config.DELIVERY_DEADLINE_SECONDS }),
      (err) => this.repo.isStatementError(err),
      Math.max(1, Math.floor(config.DATABASE_POOL_SIZE / 2)),
      config.MAX_BATCH_SIZE,
    );
  }

  private get limits() {
    return { maxBytes: this.config.MAX_PAYLOAD_BYTES, maxDepth: this.config.MAX_PAYLOAD_DEPTH };
  }

  onModuleDestroy(): void {
    this.relayWaker.stop();
  }

  /**
   * Accepts one event: the event, its deliveries and their outbox rows are written in one statement (shared with
   * other single events that arrive at the same moment: see InsertCoalescer). If the application used the same
   * idempotency key within IDEMPOTENCY_WINDOW_SECONDS, nothing is written and the original event comes back with
   * `created: false`. An older event gives its key up to the new one.
   */
  async create(
    applicationId: string,
    input: NewEventInput,
  ): Promise<{ event: AcceptedEventView; created: boolean; filteredCount: number }> {
    const [row] = this.prepare(applicationId, [input], () => '');
    const [result] = await this.write(applicationId, [row], 'single');
    return { event: result.view, created: !result.duplicate, filteredCount: result.filteredCount };
  }

  /**
   * Accepts up to MAX_BATCH_SIZE events at once: every item is checked before anything is written, then all are
   * written in one transaction. Items whose key was used within the window come back as `duplicate: true` with
   * the original event. Answers in input order, with the number of deliveries endpoint filters left out.
   */
  async createBatch(
    applicationId: string,
    inputs: NewEventInput[],
  ): Promise<{ data: BatchItemView[]; filteredCount: number }> {
    const max = this.config.MAX_BATCH_SIZE;
    if (inputs.length === 0 || inputs.length > max) {
      throw new InvalidInputError([{ field: 'events', reason: `must contain 1 to ${max} events` }]);
    }
    const rows = this.prepare(applicationId, inputs, (i) => `events[${i}].`);
    const seen = new Map<string, number>();
    const repeats: FieldProblem[] = [];
    rows.forEach((r, i) => {
      if (r.idempotencyKey === null) return;
      const first = seen.get(r.idempotencyKey);
      if (first === undefined) seen.set(r.idempotencyKey, i);
      else {
        repeats.push({
          field: `events[${i}].idempotencyKey`,
          reason: `repeats the idempotencyKey of events[${first}]`,
        });
      }
    });
    if (repeats.length > 0) throw new InvalidInputError(repeats);
    // A key reused with another type or payload is refused before anything of the batch is written.
    const keys = [...seen.keys()];
    if (keys.length > 0) {
      const held = await this.repo.findByIdempotencyKeys(
        applicationId,
        keys,
        this.config.IDEMPOTENCY_WINDOW_SECONDS,
      );
      for (const e of held) if (!e.expired) assertSameEvent(rows[seen.get(e.idempotencyKey)!], e);
    }
    await this.checkFanOut(applicationId, rows);
    const results = await this.write(applicationId, rows, 'batch');
    return {
      data: results.map((r) => ({ ...r.view, duplicate: r.duplicate })),
      filteredCount: results.reduce((n, r) => n + r.filteredCount, 0),
    };
  }

  /**
   * Refuses (413, nothing written) a batch that would create more than MAX_DELIVERIES_PER_REQUEST deliveries. A
   * batch that can't reach the cap (events × MAX_ENDPOINTS_PER_APPLICATION within it) is not counted, so single
   * events and small batches pay no extra query. Events whose key turns out held are counted too: a re-sent batch
   * gets the answer its first send got.
   */
  private async checkFanOut(applicationId: string, rows: NewEventRow[]): Promise<void> {
    const max = this.config.MAX_DELIVERIES_PER_REQUEST;
    if (rows.length * this.config.MAX_ENDPOINTS_PER_APPLICATION <= max) return;
    const perType = await this.repo.countSubscribed(
      applicationId,
      rows.map((r) => r.eventType),
    );
    const total = rows.reduce((sum, r) => sum + (perType.get(r.eventType) ?? 0), 0);
    if (total <= max) return;
    throw new PayloadTooLargeError(`The batch would create ${total} deliveries; at most ${max} per request`, [
      {
        field: 'events',
        reason:
          `${rows.length} events × their subscribed endpoints = ${total} deliveries, above ` +
          `MAX_DELIVERIES_PER_REQUEST (${max}): send fewer events per batch`,
      },
    ]);
  }

  async get(applicationId: string, id: string): Promise<EventDetailView> {
    if (!isId('evt', id)) throw new NotFoundError('event');
    const row = await this.repo.findDetail(applicationId, id);
    if (!row) throw new NotFoundError('event', id);
    return toEventDetailView(row);
  }

  async list(
    applicationId: string,
    filter: EventListFilter,
    limit: number,
    after?: PageCursor,
  ): Promise<Page<EventListItemView>> {
    return toPage(await this.repo.list(applicationId, filter, limit, after), limit, toEventListItemView);
  }

  /**
   * insertWithDeliveries with the endpoints' filters applied (cached: EndpointFilterCache). When the statement
   * finds that a filter changed since it was cached, nothing was written: the filters are read again and the
   * write retried, FILTER_RACE_RETRIES times, then 409.
   */
  private async insert(rows: NewEventRow[], opts: InsertOptions): Promise<EventSummaryRecord[]> {
    const apps = [...new Set(rows.map((r) => r.applicationId))];
    for (let attempt = 0; ; attempt++) {
      const filters = fanOutFilters(rows, await this.filters.get(apps));
      try {
        return await this.repo.insertWithDeliveries(rows, { ...opts, filters });
      } catch (err) {
        if (!this.repo.isFilterChanged(err)) throw err;
        this.filters.invalidate(apps);
        if (attempt >= FILTER_RACE_RETRIES) {
          throw new ConflictError("An endpoint's filter is being changed concurrently; retry the request");
        }
      }
    }
  }

  /** Checks every input (all problems at once, fields prefixed per item) and turns them into rows. */
  private prepare(
    applicationId: string,
    inputs: NewEventInput[],
    prefix: (i: number) => string,
  ): NewEventRow[] {
    const problems: FieldProblem[] = [];
    const tooLarge: FieldProblem[] = [];
    const rows = inputs.map((input, i): NewEventRow => {
      const p = prefix(i);
      if (typeof input.eventType !== 'string' || !EVENT_TYPE_PATTERN.test(input.eventType)) {
        problems.push({ field: `${p}eventType`, reason: `must match ${EVENT_TYPE_PATTERN.source}` });
      }
      const key = input.idempotencyKey;
      if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(key))) {
        problems.push({
          field: `${p}idempotencyKey`,
          reason: 'must be 1 to 255 printable ASCII characters',
        });
      }
      const priority = input.priority ?? DEFAULT_PRIORITY;
      if (!isPriority(priority)) {
        problems.push({ field: `${p}priority`, reason: `must be one of ${PRIORITIES.join(', ')}` });
      }
      const partitionKey = input.partitionKey ?? null;
      if (partitionKey !== null && !isPartitionKey(partitionKey)) {
        problems.push({ field: `${p}partitionKey`, reason: PARTITION_KEY_REASON });
      }
      const payload =
        typeof input.payload === 'string'
          ? checkPayloadText(input.payload, this.limits, `${p}payload`, input.payloadTree)
          : ({
              ok: false,
              tooLarge: false,
              problem: { field: `${p}payload`, reason: 'must be a JSON object' },
            } as const);
      if (!payload.ok) (payload.tooLarge ? tooLarge : problems).push(payload.problem);
      return {
        id: newId('evt'),
        applicationId,
        eventType: input.eventType,
        payloadJson: payload.ok ? payload.text : '',
        idempotencyKey: key ?? null,
        priority: isPriority(priority) ? priority : DEFAULT_PRIORITY,
        partitionKey: isPartitionKey(partitionKey) ? partitionKey : null,
      };
    });
    if (tooLarge.length > 0) {
      throw new PayloadTooLargeError(
        `Event payloads are limited to ${this.config.MAX_PAYLOAD_BYTES} bytes`,
        tooLarge,
      );
    }
    if (problems.length > 0) throw new InvalidInputError(problems);
    return rows;
  }

  /**
   * Writes rows whose keys are free and finds the originals of those whose keys are taken. A key held by an
   * event older than the window is taken off it in the write's transaction: up front for every keyed row of a
   * batch (so a batch stays one transaction), otherwise only after a conflict showed it is needed. A single
   * event's first try goes through the coalescer.
   */
  private async write(
    applicationId: string,
    rows: NewEventRow[],
    mode: 'single' | 'batch',
  ): Promise<WriteResult[]> {
    const window = this.config.IDEMPOTENCY_WINDOW_SECONDS;
    const deadlineSeconds = this.config.DELIVERY_DEADLINE_SECONDS;
    const results: (WriteResult | undefined)[] = rows.map(() => undefined);
    let pending = rows.map((row, index) => ({ row, index }));
    let reclaim = mode === 'batch';
    for (let round = 0; round <= KEY_RACE_RETRIES && pending.length > 0; round++) {
      let inserted: EventSummaryRecord[];
      if (mode === 'single' && round === 0) {
        const r = await this.singles.add(rows[0]);
        inserted = r ? [r] : [];
      } else {
        inserted = await this.insert(
          pending.map((p) => p.row),
          {
            deadlineSeconds,
            ...(reclaim ? { reclaimKeysOlderThanSeconds: window } : {}),
            // A batch is all or nothing: a key reused for a different event, even by a request that landed
            // after createBatch's check, rolls back the whole write.
            ...(mode === 'batch'
              ? {
                  windowSeconds: window,
                  checkHeld: (notInserted, held) => assertSameEvents(notInserted, held),
                }
              : {}),
          },
        );
      }
      if (inserted.some((r) => r.deliveryCount > 0)) this.relayWaker.poke();
      const byId = new Map(inserted.map((r) => [r.id, r]));
      const conflicted = pending.filter((p) => {
        const r = byId.get(p.row.id);
        if (r) {
          results[p.index] = {
            view: toAcceptedEventView(r),
            duplicate: false,
            filteredCount: r.filteredCount ?? 0,
          };
        }
        return !r;
      });
      pending = conflicted;
      if (conflicted.length === 0) break;
      if (conflicted.some((p) => p.row.idempotencyKey === null)) {
        throw new Error('Event insert returned fewer rows than it was given without a key conflict');
      }
      // A new statement, so a new snapshot: it sees the event a concurrent request committed with the key.
      const keys = conflicted.map((p) => p.row.idempotencyKey).filter((k): k is string => k !== null);
      const existing = new Map(
        (await this.repo.findByIdempotencyKeys(applicationId, keys, window)).map((e) => [
          e.idempotencyKey,
          e,
        ]),
      );
      pending = conflicted.filter((p) => {
        const e = p.row.idempotencyKey === null ? undefined : existing.get(p.row.idempotencyKey);
        if (e && !e.expired) {
          assertSameEvent(p.row, e);
          results[p.index] = { view: toAcceptedEventView(e), duplicate: true, filteredCount: 0 };
        }
        // Else the key is held by an expired event (reclaim it), or its holder gave it up meanwhile: retry.
        else if (e) reclaim = true;
        return !(e && !e.expired);
      });
    }
    if (pending.length > 0) {
      throw new ConflictError('The idempotency key is being reused concurrently; retry the request');
    }
    return results.map((r) => r!);
  }
}

/**
 * The parameters of a fan-out with the applications' endpoint filters: every filter known (the statement's guard
 * compares them) and the pairs they leave out.
 */
function fanOutFilters(rows: NewEventRow[], byApp: Map<string, ApplicationFilters>): FanOutFilters {
  const knownEndpointIds: string[] = [];
  const knownDigests: string[] = [];
  for (const app of byApp.values()) {
    for (const [id, digest] of app.digests) {
      knownEndpointIds.push(id);
      knownDigests.push(digest);
    }
  }
  const excluded = filteredOutPairs(rows, (app) => byApp.get(app)?.endpoints ?? []);
  return {
    knownEndpointIds,
    knownDigests,
    excludedEventIds: excluded.eventIds,
    excludedEndpointIds: excluded.endpointIds,
  };
}

/** assertSameEvent for each row whose key is held by an event inside the window. */
function assertSameEvents(rows: NewEventRow[], held: KeyedEventRecord[]): void {
  const byKey = new Map(held.map((h) => [h.idempotencyKey, h]));
  for (const row of rows) {
    const h = row.idempotencyKey === null ? undefined : byKey.get(row.idempotencyKey);
    if (h && !h.expired) assertSameEvent(row, h);
  }
}

/**
 * A repeated idempotency key must come with the same event: the same type, the same payload text (byte for
 * byte, as it is stored), the same priority and the same partition key. Otherwise the producer is told (409) instead of silently getting the original back.
 */
function assertSameEvent(row: NewEventRow, held: KeyedEventRecord): void {
  const differs = [
    ...(held.eventType !== row.eventType ? ['eventType'] : []),
    ...(held.payload !== row.payloadJson ? ['payload'] : []),
    ...(held.priority !== row.priority ? ['priority'] : []),
    ...(held.partitionKey !== row.partitionKey ? ['partitionKey'] : []),
  ];
  if (differs.length === 0) return;
  throw new ConflictError(
    `The idempotency key ${JSON.stringify(row.idempotencyKey)} was used within the window for event ${held.id} ` +
      `with a different ${differs.join(' and ')}; use a new key for a different event`,
  );
}
