import { Injectable } from '@nestjs/common';
import { Prisma, PrismaService } from '@tern/database';
import { AppConfig } from '@tern/config';
import { keysetAfter, newestFirst, PageCursor } from '../common/pagination';
import { failDeliverySetSql, notifyDispatcher, pendingInIdOrderSql } from '../deliveries/delivery-writes.sql';
import type { EndpointOrdering, OrderingOnFailure } from '../ordering/ordering.model';
import { OPERATIONAL_EVENT } from '../operational/operational-events.model';
import { writeOperationalEvents } from '../operational/operational-events.sql';
import { ENDPOINT_CHANGED_CHANNEL } from '../queue/queue.constants';
import { EndpointHeadersCipher } from '../secrets/endpoint-headers-cipher';
import { circuitOf, EndpointCircuit, ENDPOINT_CIRCUIT_INCLUDE } from './endpoint-circuit';

/** deliveries.last_error of the pending deliveries failed when their endpoint is disabled / deleted. */
export const ENDPOINT_DISABLED_ERROR = 'endpoint_disabled';
export const ENDPOINT_DELETED_ERROR = 'endpoint_deleted';

/** standard: the application's own events; operational: Tern's operational events (operational-events.model.ts). */
export type EndpointKind = 'standard' | 'operational';

export interface EndpointRecord {
  id: string;
  applicationId: string;
  url: string;
  kind: EndpointKind;
  description: string;
  /** Empty = every event type. */
  eventTypes: string[];
  disabled: boolean;
  disabledReason: string | null;
  disabledAt: Date | null;
  rateLimitPerSecond: number | null;
  /** Null = ENDPOINT_MAX_IN_FLIGHT. */
  maxInFlight: number | null;
  headers: Record<string, string>;
  /** The payload filter's JSON text as the application sent it; null = every event. */
  filter: string | null;
  ordering: EndpointOrdering;
  onFailure: OrderingOnFailure;
  /** The circuit breaker, from endpoint_states (closed when the dispatcher has no row for the endpoint yet). */
  circuit: EndpointCircuit;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

/** What the delivery worker needs to send to an endpoint (deleted ones included, flagged). */
export interface EndpointDeliveryConfig {
  id: string;
  applicationId: string;
  url: string;
  kind: EndpointKind;
  headers: Record<string, string>;
  disabled: boolean;
  deleted: boolean;
  rateLimitPerSecond: number | null;
}

export interface NewEndpoint {
  id: string;
  applicationId: string;
  url: string;
  /** Default standard. */
  kind?: EndpointKind;
  description: string;
  eventTypes: string[];
  disabled: boolean;
  disabledReason: string | null;
  rateLimitPerSecond: number | null;
  maxInFlight: number | null;
  headers: Record<string, string>;
  /** Checked JSON text (payload-filter.ts); null = none. */
  filter: string | null;
  ordering: EndpointOrdering;
  onFailure: OrderingOnFailure;
}

/** A standard endpoint's filter, for the fan-out (EndpointFilterCache). */
export interface EndpointFilterRow {
  id: string;
  applicationId: string;
  eventTypes: string[];
  filter: string;
}

/** The result of a partial update: the endpoint as it is now, and whether it was disabled before. */
export type EndpointUpdateResult = EndpointRecord & { wasDisabled: boolean };

/** A partial update; `disabledReason` is only read when `disabled` is true. */
export interface EndpointChanges {
  url?: string;
  description?: string;
  eventTypes?: string[];
  rateLimitPerSecond?: number | null;
  maxInFlight?: number | null;
  headers?: Record<string, string>;
  /** Checked JSON text; null clears it. */
  filter?: string | null;
  disabled?: boolean;
  disabledReason?: string | null;
  ordering?: EndpointOrdering;
  onFailure?: OrderingOnFailure;
}

/** An endpoint_secrets row to insert (already encrypted). */
export interface NewEndpointSecretRow {
  id: string;
  keyVersion: number;
  ciphertext: Buffer;
}

type Tx = Prisma.TransactionClient;
/** An endpoints row with its circuit columns (ENDPOINT_CIRCUIT_INCLUDE: every read of a whole endpoint). */
type EndpointRow = Prisma.EndpointGetPayload<{ include: typeof ENDPOINT_CIRCUIT_INCLUDE }>;

/**
 * NOTIFY ENDPOINT_CHANGED_CHANNEL (payload = endpoint id), inside the caller's transaction: sent for every change to
 * an endpoint or its secrets, and delivered to listeners only if the change commits.
 */
export async function notifyEndpointChanged(tx: Tx, endpointId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${ENDPOINT_CHANGED_CHANNEL}, ${endpointId})`;
}

/** Fails every pending delivery of an endpoint (caller's transaction), one in flight included. Returns how many. */
async function failPendingDeliveries(tx: Tx, endpointId: string, lastError: string): Promise<number> {
  // $executeRawUnsafe: the SET list is the shared fragment; values go as parameters.
  return tx.$executeRawUnsafe(
    `UPDATE deliveries SET ${failDeliverySetSql('$2')} WHERE ${pendingInIdOrderSql('endpoint_id = $1')}`,
    endpointId,
    lastError,
  );
}

/** Locks a live endpoint row for the rest of the transaction; null when missing, deleted or another application's. */
async function lockLiveEndpoint(
  tx: Tx,
  id: string,
  applicationId: string | null,
): Promise<{ disabled: boolean; disabledReason: string | null } | null> {
  const rows = await tx.$queryRaw<{ disabled: boolean; disabled_reason: string | null }[]>`
    SELECT disabled, disabled_reason FROM endpoints
    WHERE id = ${id} AND deleted_at IS NULL
      AND (${applicationId}::text IS NULL OR application_id = ${applicationId}::text)
    FOR UPDATE`;
  const row = rows[0];
  return row ? { disabled: row.disabled, disabledReason: row.disabled_reason } : null;
}

/**
 * An endpoint's custom headers: sealed (headers_sealed), or — for a row written before headers were sealed and not
 * yet sealed by sealPlaintextHeaders — the legacy plaintext column.
 */
function headersOf(
  r: Pick<EndpointRow, 'id' | 'headers' | 'headersSealed' | 'headersKeyVersion'>,
  cipher: EndpointHeadersCipher,
): Record<string, string> {
  return r.headersSealed !== null ? cipher.open(r.id, r) : toHeaders(r.headers);
}

function toHeaders(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string' && k !== '__proto__') out[k] = v;
    }
  }
  return out;
}

function toRecord(r: EndpointRow, cipher: EndpointHeadersCipher): EndpointRecord {
  return {
    id: r.id,
    applicationId: r.applicationId,
    url: r.url,
    kind: r.kind,
    description: r.description,
    eventTypes: r.eventTypes ?? [],
    disabled: r.disabled,
    disabledReason: r.disabledReason,
    disabledAt: r.disabledAt,
    rateLimitPerSecond: r.rateLimitPerSecond,
    maxInFlight: r.maxInFlight,
    headers: headersOf(r, cipher),
    filter: r.filter,
    ordering: r.ordering,
    onFailure: r.onFailure,
    circuit: circuitOf(r.state),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    deletedAt: r.deletedAt,
  };
}

@Injectable()
export class EndpointsRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly config: AppConfig,
    private readonly cipher: EndpointHeadersCipher,
  ) {}

  private record(row: EndpointRow): EndpointRecord {
    return toRecord(row, this.cipher);
  }

  /**
   * Inserts the endpoint and its first (current) secret in one transaction — unless the application already has
   * `maxEndpoints` live endpoints: then nothing is written and the count comes back as `{ limitReached }`. The
   * application row is locked first (FOR NO KEY UPDATE: ingest's foreign-key checks don't wait), so concurrent
   * creates count one after the other and can't overshoot.
   */
  async create(
    data: NewEndpoint,
    secret: NewEndpointSecretRow,
    maxEndpoints: number,
    now = new Date(),
  ): Promise<EndpointRecord | { limitReached: number }> {
    return this.prisma.$transaction(async (tx) => {
      // Two statements: the count must see what the previous lock holder committed, and a statement's snapshot
      // is taken before it waits for the lock (read committed).
      await tx.$queryRaw`SELECT 1 FROM applications WHERE id = ${data.applicationId} FOR NO KEY UPDATE`;
      const [{ n }] = await tx.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM endpoints WHERE application_id = ${data.applicationId} AND deleted_at IS NULL`;
      if (n >= maxEndpoints) return { limitReached: n };
      const { headers, ...fields } = data;
      const row = await tx.endpoint.create({
        data: {
          ...fields,
          ...this.cipher.seal(data.id, headers),
          disabledAt: data.disabled ? now : null,
          disabledReason: data.disabled ? data.disabledReason : null,
          createdAt: now,
          updatedAt: now,
        },
        include: ENDPOINT_CIRCUIT_INCLUDE,
      });
      await tx.endpointSecret.create({
        data: {
          id: secret.id,
          endpointId: data.id,
          keyVersion: secret.keyVersion,
          ciphertext: new Uint8Array(secret.ciphertext),
          createdAt: now,
          expiresAt: null,
        },
      });
      await notifyEndpointChanged(tx, data.id);
      return this.record(row);
    });
  }

  /** A live (not deleted) endpoint of the application. */
  async findById(applicationId: string, id: string): Promise<EndpointRecord | null> {
    const row = await this.prisma.endpoint.findFirst({
      where: { id, applicationId, deletedAt: null },
      include: ENDPOINT_CIRCUIT_INCLUDE,
    });
    return row ? this.record(row) : null;
  }

  /**
   * The filters of the live standard endpoints of these applications (disabled ones included: re-enabling one
   * changes no filter). Endpoints without a filter are left out.
   */
  findFilters(applicationIds: string[]): Promise<EndpointFilterRow[]> {
    return this.prisma.$queryRaw<EndpointFilterRow[]>`
      SELECT id, application_id AS "applicationId", event_types AS "eventTypes", filter FROM endpoints
      WHERE application_id = ANY (${applicationIds}::text[]) AND kind = 'standard' AND deleted_at IS NULL
        AND filter IS NOT NULL`;
  }

  /** Live endpoints of the application, newest first; fetches `limit + 1` rows for toPage(). */
  async list(applicationId: string, limit: number, after?: PageCursor): Promise<EndpointRecord[]> {
    const rows = await this.prisma.endpoint.findMany({
      where: {
        applicationId,
        deletedAt: null,
        ...keysetAfter(after),
      },
      orderBy: newestFirst(),
      take: limit + 1,
      include: ENDPOINT_CIRCUIT_INCLUDE,
    });
    return rows.map((r) => this.record(r));
  }

  /**
   * Applies a partial update. Disabling (disabled: true) fails the endpoint's pending deliveries with
   * "endpoint_disabled" in the same transaction; enabling clears disabledAt/disabledReason. Null when not found.
   */
  async update(
    applicationId: string,
    id: string,
    changes: EndpointChanges,
    now = new Date(),
  ): Promise<EndpointUpdateResult | null> {
    return this.prisma.$transaction(async (tx) => {
      const current = await lockLiveEndpoint(tx, id, applicationId);
      if (!current) return null;
      const { disabled, disabledReason, headers, ...fields } = changes;
      const data: Prisma.EndpointUpdateInput = { ...fields, updatedAt: now };
      if (headers !== undefined) Object.assign(data, { headers: {} }, this.cipher.seal(id, headers));
      if (disabled === true) {
        data.disabled = true;
        if (!current.disabled) {
          data.disabledAt = now;
          data.disabledReason = disabledReason ?? null;
        } else if (disabledReason !== undefined) {
          data.disabledReason = disabledReason;
        }
      } else if (disabled === false) {
        data.disabled = false;
        data.disabledAt = null;
        data.disabledReason = null;
        // Its next success announces endpoint.recovered (reason re_enabled; see advanceFailureStreak).
        if (current.disabled) data.reenabledAt = now;
      }
      const row = await tx.endpoint.update({ where: { id }, data, include: ENDPOINT_CIRCUIT_INCLUDE });
      if (disabled === true) await failPendingDeliveries(tx, id, ENDPOINT_DISABLED_ERROR);
      if (changes.onFailure === 'skip') {
        // Skip mode keeps no blocks: every key blocked until now may go on (the dispatcher is told).
        const unblocked = await tx.$executeRaw`DELETE FROM partition_blocks WHERE endpoint_id = ${id}`;
        if (unblocked > 0) await notifyDispatcher(tx);
      }
      if (disabled === true && !current.disabled) {
        await this.announceDisabled(
          tx,
          this.record(row),
          row.disabledReason ?? 'disabled by the application',
        );
      }
      await notifyEndpointChanged(tx, id);
      return { ...this.record(row), wasDisabled: current.disabled };
    });
  }

  /** Soft-deletes; fails the endpoint's pending deliveries with "endpoint_deleted". False when not found. */
  async softDelete(applicationId: string, id: string, now = new Date()): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const r = await tx.endpoint.updateMany({
        where: { id, applicationId, deletedAt: null },
        data: { deletedAt: now, updatedAt: now },
      });
      if (r.count !== 1) return false;
      await failPendingDeliveries(tx, id, ENDPOINT_DELETED_ERROR);
      await notifyEndpointChanged(tx, id);
      return true;
    });
  }

  /**
   * Disables a live endpoint whatever its application (worker use, e.g. on HTTP 410) and fails its pending
   * deliveries with "endpoint_disabled". A reason already recorded by an earlier disable is kept.
   * Returns null when the endpoint is missing or deleted; else the endpoint and whether this call disabled it.
   */
  async disable(
    id: string,
    reason: string,
    now = new Date(),
  ): Promise<{ endpoint: EndpointRecord; changed: boolean } | null> {
    return this.prisma.$transaction(async (tx) => {
      const current = await lockLiveEndpoint(tx, id, null);
      if (!current) return null;
      const row = current.disabled
        ? await tx.endpoint.findUniqueOrThrow({ where: { id }, include: ENDPOINT_CIRCUIT_INCLUDE })
        : await tx.endpoint.update({
            where: { id },
            data: { disabled: true, disabledAt: now, disabledReason: reason, updatedAt: now },
            include: ENDPOINT_CIRCUIT_INCLUDE,
          });
      await failPendingDeliveries(tx, id, ENDPOINT_DISABLED_ERROR);
      if (!current.disabled) await this.announceDisabled(tx, this.record(row), reason);
      await notifyEndpointChanged(tx, id);
      return { endpoint: this.record(row), changed: !current.disabled };
    });
  }

  /** endpoint.disabled, in the transaction that disabled a standard endpoint. */
  private async announceDisabled(tx: Tx, endpoint: EndpointRecord, reason: string): Promise<void> {
    if (endpoint.kind !== 'standard') return;
    await writeOperationalEvents(
      tx,
      [
        {
          ref: endpoint.id,
          applicationId: endpoint.applicationId,
          type: OPERATIONAL_EVENT.endpointDisabled,
          payload: { endpointId: endpoint.id, url: endpoint.url, reason },
        },
      ],
      this.config.DELIVERY_DEADLINE_SECONDS,
    );
  }

  /**
   * Seals up to `limit` endpoints' custom headers still stored in clear (rows written before headers were sealed)
   * and empties the plaintext column. Returns how many rows it changed; call until fewer than `limit`. Rows locked
   * by another caller are skipped (SKIP LOCKED), so every process can run it at boot. Rows already sealed are not
   * re-sealed under a newer key version here: a process still running with only the older key could no longer
   * read them during a rolling deploy; they move to the current key when their headers are next written.
   */
  async sealStoredHeaders(limit: number): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Pick<EndpointRow, 'id' | 'headers' | 'headersSealed'>[]>`
        SELECT id, headers, headers_sealed AS "headersSealed" FROM endpoints
        WHERE headers <> '{}'::jsonb
        ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
      for (const r of rows) {
        // Sealed headers win over a stray plaintext copy (never written together by this code).
        const sealed = r.headersSealed === null ? this.cipher.seal(r.id, toHeaders(r.headers)) : null;
        await tx.$executeRaw`
          UPDATE endpoints SET headers = '{}'::jsonb,
                 headers_sealed = coalesce(${sealed?.headersSealed ?? null}, headers_sealed),
                 headers_key_version = coalesce(${sealed?.headersKeyVersion ?? null}::int, headers_key_version)
          WHERE id = ${r.id}`;
      }
      return rows.length;
    });
  }

  /**
   * URLs of the given endpoints, in one query, deleted ones included (a delivery's table row still names where it
   * went); unknown ids and endpoints of other applications (when `applicationId` is given) are left out.
   */
  async urls(ids: string[], applicationId?: string): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.prisma.endpoint.findMany({
      where: { id: { in: [...new Set(ids)] }, ...(applicationId ? { applicationId } : {}) },
      select: { id: true, url: true },
    });
    return new Map(rows.map((r) => [r.id, r.url]));
  }

  /** Delivery configuration of the given endpoints, whatever their application; unknown ids are left out. */
  async findForDelivery(ids: string[]): Promise<EndpointDeliveryConfig[]> {
    if (ids.length === 0) return [];
    const rows = await this.prisma.endpoint.findMany({
      where: { id: { in: [...new Set(ids)] } },
      select: {
        id: true,
        applicationId: true,
        url: true,
        kind: true,
        headers: true,
        headersSealed: true,
        headersKeyVersion: true,
        disabled: true,
        deletedAt: true,
        rateLimitPerSecond: true,
      },
    });
    return rows.map((r) => ({
      id: r.id,
      applicationId: r.applicationId,
      url: r.url,
      kind: r.kind,
      headers: headersOf(r, this.cipher),
      disabled: r.disabled,
      deleted: r.deletedAt !== null,
      rateLimitPerSecond: r.rateLimitPerSecond,
    }));
  }
}
