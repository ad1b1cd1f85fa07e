import { Injectable } from '@nestjs/common';
import { planRelease, ReleaseCandidate } from '@tern/delivery-rules';
import { PrismaService } from '@tern/database';
import type { ReleasedDelivery } from '../queue/queue.constants';

/** A batch of released deliveries of one endpoint: one job. */
export interface ReleasedBatch {
  endpointId: string;
  deliveries: ReleasedDelivery[];
  releasedAtMs: number;
}

export interface DispatchLimits {
  /** Most deliveries released in one cycle (DISPATCH_BATCH_SIZE). */
  budget: number;
  /** Most endpoints locked in one cycle (DISPATCH_ENDPOINTS_PER_CYCLE). */
  endpoints: number;
  /** ENDPOINT_MAX_IN_FLIGHT, for endpoints without their own maxInFlight. */
  defaultMaxInFlight: number;
  /** Most deliveries of one endpoint per job (DELIVERY_JOB_MAX_DELIVERIES). */
  perJob: number;
  /** Advanced by the caller each cycle: who gets the indivisible remainders. */
  rotation: number;
}

export interface DispatchCycle {
  released: number;
  /** Endpoints had work this cycle could not take (budget spent, or state rows just created): run again now. */
  more: boolean;
  /** Milliseconds until the earliest releasable delivery not yet due falls due; null when none waits. */
  nextDueInMs: number | null;
}

interface CandidateRow {
  endpoint_id: string;
  due_in_ms: number;
  locked: boolean;
  no_state: boolean;
  application_id: string;
  max_in_flight: number;
  rate_limit_per_second: number | null;
  rate_tokens: number | null;
  rate_at: Date | null;
  in_flight: number;
  due: number;
  db_now: Date;
}

// Pending, not released: the releasable set (partial index deliveries_releasable_idx). Released and still pending:
// in flight (deliveries_released_idx).
const RELEASABLE = `d.status = 'pending' AND d.released_at IS NULL`;
const RELEASED = `d.status = 'pending' AND d.released_at IS NOT NULL`;

/**
 * Every endpoint with releasable work (a skip scan of the releasable index: one probe per endpoint, whatever its
 * backlog), when its earliest delivery falls due, and — for up to $1 of those due now, least recently served
 * first, whose state row no other dispatcher holds (FOR UPDATE SKIP LOCKED) — what the release plan needs.
 */
const CANDIDATES_SQL = `
  WITH RECURSIVE eps AS (
    (SELECT d.endpoint_id FROM deliveries d WHERE ${RELEASABLE} ORDER BY d.endpoint_id LIMIT 1)
    UNION ALL
    SELECT (SELECT d.endpoint_id FROM deliveries d
            WHERE ${RELEASABLE} AND d.endpoint_id > eps.endpoint_id ORDER BY d.endpoint_id LIMIT 1)
    FROM eps WHERE eps.endpoint_id IS NOT NULL
  ), waiting AS MATERIALIZED (
    SELECT eps.endpoint_id,
           (SELECT min(d.next_attempt_at) FROM deliveries d
            WHERE d.endpoint_id = eps.endpoint_id AND ${RELEASABLE}) AS next_at
    FROM eps WHERE eps.endpoint_id IS NOT NULL
  ), locked AS (
    SELECT s.endpoint_id, s.rate_tokens, s.rate_at FROM endpoint_states s
    WHERE s.endpoint_id IN (SELECT endpoint_id FROM waiting WHERE next_at <= now())
    ORDER BY s.served_at NULLS FIRST, s.endpoint_id
    LIMIT $1 FOR UPDATE SKIP LOCKED
  )
  SELECT w.endpoint_id,
         GREATEST(0, EXTRACT(EPOCH FROM (w.next_at - now())) * 1000)::float8 AS due_in_ms,
         l.endpoint_id IS NOT NULL AS locked,
         NOT EXISTS (SELECT 1 FROM endpoint_states s WHERE s.endpoint_id = w.endpoint_id) AS no_state,
         ep.application_id, coalesce(ep.max_in_flight, $2)::int AS max_in_flight, ep.rate_limit_per_second,
         l.rate_tokens, l.rate_at,
         CASE WHEN l.endpoint_id IS NULL THEN 0 ELSE
           (SELECT count(*) FROM deliveries d WHERE d.endpoint_id = w.endpoint_id AND ${RELEASED}) END::int
           AS in_flight,
         CASE WHEN l.endpoint_id IS NULL THEN 0 ELSE
           (SELECT count(*) FROM (SELECT 1 FROM deliveries d
                                  WHERE d.endpoint_id = w.endpoint_id AND ${RELEASABLE} AND d.next_attempt_at <= now()
                                  LIMIT $3) x) END::int AS due,
         now() AS db_now
  FROM waiting w
  JOIN endpoints ep ON ep.id = w.endpoint_id
  LEFT JOIN locked l ON l.endpoint_id = w.endpoint_id`;

/**
 * Releases the planned number of due deliveries per endpoint, oldest due first (a retry that fell due competes by
 * its due time, so it waits no longer than a new event behind it), and advances the endpoints' state: served now,
 * rate bucket less what was released. The release token is released_at as text (what the claim compares).
 */
const RELEASE_SQL = `
  WITH g AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS g(endpoint_id text, n int, tokens float8, limited boolean)
  ), picked AS (
    SELECT p.id FROM g CROSS JOIN LATERAL (
      SELECT d.id FROM deliveries d
      WHERE d.endpoint_id = g.endpoint_id AND ${RELEASABLE} AND d.next_attempt_at <= now()
      ORDER BY d.next_attempt_at, d.id LIMIT g.n FOR UPDATE SKIP LOCKED) p
  ), rel AS (
    UPDATE deliveries d SET released_at = now() FROM picked WHERE d.id = picked.id
    RETURNING d.id, d.endpoint_id, d.released_at::text AS token,
              (EXTRACT(EPOCH FROM d.released_at) * 1000)::float8 AS released_ms
  ), st AS (
    UPDATE endpoint_states s SET served_at = now(),
      rate_at = CASE WHEN g.limited THEN now() ELSE s.rate_at END,
      rate_tokens = CASE WHEN g.limited
                         THEN g.tokens - (SELECT count(*) FROM rel WHERE rel.endpoint_id = g.endpoint_id)
                         ELSE s.rate_tokens END
    FROM g WHERE s.endpoint_id = g.endpoint_id
  )
  SELECT id, endpoint_id, token, released_ms FROM rel ORDER BY endpoint_id, id`;

/**
 * The dispatcher's statements. One cycle is one short transaction: lock the endpoints to serve, plan (pure, in
 * @tern/delivery-rules), mark the deliveries released, hand the batches to `publish` (BullMQ), commit. If `publish`
 * throws, nothing is released. A job that reaches a worker before the commit waits on the delivery's row lock in
 * the claim; a job whose transaction rolled back finds its token not in force and is skipped.
 */
@Injectable()
export class DispatchRepository {
  constructor(private readonly prisma: PrismaService) {}

  async releaseOnce(
    limits: DispatchLimits,
    publish: (batches: ReleasedBatch[]) => Promise<void>,
    timeoutMs: number,
  ): Promise<DispatchCycle> {
    return this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRawUnsafe<CandidateRow[]>(
          CANDIDATES_SQL,
          limits.endpoints,
          limits.defaultMaxInFlight,
          limits.budget,
        );
        const waitingMs = rows.filter((r) => r.due_in_ms > 0).map((r) => r.due_in_ms);
        const nextDueInMs = waitingMs.length ? Math.ceil(Math.min(...waitingMs)) : null;
        const dueNow = rows.filter((r) => r.due_in_ms === 0);
        const missing = dueNow.filter((r) => r.no_state).map((r) => r.endpoint_id);
        if (missing.length) {
          await tx.$executeRawUnsafe(
            `INSERT INTO endpoint_states (endpoint_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
            missing,
          );
        }
        const candidates: ReleaseCandidate[] = dueNow
          .filter((r) => r.locked)
          .map((r) => ({
            endpointId: r.endpoint_id,
            applicationId: r.application_id,
            maxInFlight: r.max_in_flight,
            inFlight: r.in_flight,
            due: r.due,
            rateLimitPerSecond: r.rate_limit_per_second,
            bucket: { tokens: r.rate_tokens ?? 0, at: r.rate_at },
          }));
        const now = rows[0]?.db_now ?? new Date();
        const plan = planRelease(candidates, limits.budget, now, limits.rotation);
        // Budget spent, or more endpoints due than one cycle takes, or state rows just created: go again at once.
        const granted = plan.reduce((s, p) => s + p.n, 0);
        const more =
          missing.length > 0 ||
          (granted >= limits.budget && limits.budget > 0) ||
          candidates.length >= limits.endpoints;
        if (plan.length === 0) return { released: 0, more, nextDueInMs };
        const limited = new Set(
          candidates.filter((c) => c.rateLimitPerSecond !== null).map((c) => c.endpointId),
        );
        const released = await tx.$queryRawUnsafe<
          { id: string; endpoint_id: string; token: string; released_ms: number }[]
        >(
          RELEASE_SQL,
          JSON.stringify(
            plan.map((p) => ({
              endpoint_id: p.endpointId,
              n: p.n,
              tokens: p.tokens,
              limited: limited.has(p.endpointId),
            })),
          ),
        );
        if (released.length === 0) return { released: 0, more, nextDueInMs };
        await publish(batchesOf(released, limits.perJob));
        return { released: released.length, more, nextDueInMs };
      },
      { timeout: timeoutMs, maxWait: timeoutMs },
    );
  }
}

/** Rows ordered by endpoint → batches of at most `perJob` deliveries of one endpoint. */
function batchesOf(
  rows: { id: string; endpoint_id: string; token: string; released_ms: number }[],
  perJob: number,
): ReleasedBatch[] {
  const out: ReleasedBatch[] = [];
  let cur: ReleasedBatch | null = null;
  for (const r of rows) {
    if (!cur || cur.endpointId !== r.endpoint_id || cur.deliveries.length >= perJob) {
      cur = { endpointId: r.endpoint_id, deliveries: [], releasedAtMs: Math.round(r.released_ms) };
      out.push(cur);
    }
    cur.deliveries.push({ deliveryId: r.id, releaseToken: r.token });
  }
  return out;
}
