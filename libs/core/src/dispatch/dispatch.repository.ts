import { Injectable } from '@nestjs/common';
import {
  CircuitPolicy,
  circuitAtDispatch,
  CircuitState,
  CircuitTransition,
  DispatchCircuit,
  nextPrioritySlot,
  perPriority,
  planRelease,
  PRIORITIES,
  Priority,
  PrioritySchedule,
  ReleaseCandidate,
  splitByPriority,
} from '@tern/delivery-rules';
import { Prisma, PrismaService } from '@tern/database';
import { OPERATIONAL_EVENT } from '../operational/operational-events.model';
import { OperationalEventInput, writeOperationalEvents } from '../operational/operational-events.sql';
import type { ReleasedDelivery } from '../queue/queue.constants';
import { ORDERED_ENDPOINTS_CTE, orderedHeadsCtes } from './ordered-release.sql';

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
  /** PRIORITY_WEIGHT_*: how an endpoint's grant is shared between priority levels (splitByPriority). */
  priorities: PrioritySchedule;
  circuit: CircuitPolicy;
  /** ENDPOINT_DISABLE_AFTER_SECONDS in ms; 0 = never. */
  disableAfterMs: number;
  /** DELIVERY_DEADLINE_SECONDS, for the operational events a cycle writes. */
  deadlineSeconds: number;
}

/** A circuit that changed state in a cycle. */
export interface CircuitChange {
  endpointId: string;
  transition: Exclude<CircuitTransition, null>;
}

export interface DispatchCycle {
  released: number;
  /** Endpoints had work this cycle could not take (budget spent, or state rows just created): run again now. */
  more: boolean;
  /** Milliseconds until the earliest releasable delivery falls due or a circuit's probe may go; null: none. */
  nextDueInMs: number | null;
  circuits: CircuitChange[];
  /** Endpoints failing with no success for ENDPOINT_DISABLE_AFTER_SECONDS: the caller disables them (reason failing). */
  toDisable: string[];
  /** Operational events written in the cycle's transaction (their types). */
  operationalEvents: string[];
}

/** What CANDIDATES_SQL reads of an endpoint with releasable work. */
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
  /** The endpoint has waiting ordered deliveries (a partition key): DISPATCH_COUNTS_SQL counts its keys' heads. */
  ordered: boolean;
  db_now: Date;
  kind: string;
  url: string;
  disabled: boolean;
  failure_streak: number;
  circuit_state: CircuitState | null;
  circuit_opened_at: Date | null;
  circuit_next_probe_at: Date | null;
  circuit_cooldown_ms: number | null;
  circuit_probe_streak: number | null;
  failing_since: Date | null;
  /** Where the endpoint's next release starts in the priority sequence (null: not locked). */
  priority_slot: number | null;
}

/** A locked candidate with what DISPATCH_COUNTS_SQL read after the lock. */
interface LockedRow extends CandidateRow {
  in_flight: number;
  /** Due releasable deliveries per priority level, in PRIORITIES order (each counted up to the endpoint's cap). */
  due: number[];
  /** Ordered endpoints: releasable key heads due now per level, in PRIORITIES order; null: none. */
  ordered_due: number[] | null;
  /** Ordered endpoints: ms until their earliest releasable head not yet due falls due; null: none. */
  ordered_next_ms: number | null;
}

interface StateChange {
  endpoint_id: string;
  circuit_state: CircuitState;
  circuit_opened_at: Date | null;
  circuit_next_probe_at: Date | null;
  circuit_cooldown_ms: number;
  circuit_probe_streak: number;
}

// Pending, not released, unordered: the releasable set (partial index deliveries_releasable_idx). Ordered deliveries
// (a partition key) are released through their keys' heads (ordered-release.sql.ts). Released and still pending:
// in flight (deliveries_released_idx).
const RELEASABLE = `d.status = 'pending' AND d.released_at IS NULL AND d.partition_key IS NULL`;
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
  ), ${ORDERED_ENDPOINTS_CTE}, ${orderedHeadsCtes('oeps')}, waiting AS MATERIALIZED (
    SELECT endpoint_id, min(next_at) AS next_at FROM (
      -- The earliest of each level's first entry: one index probe per level.
      SELECT eps.endpoint_id,
             (SELECT min(m.next_at) FROM unnest($3::event_priority[]) AS lv(priority) CROSS JOIN LATERAL (
                SELECT min(d.next_attempt_at) AS next_at FROM deliveries d
                WHERE d.endpoint_id = eps.endpoint_id AND d.priority = lv.priority AND ${RELEASABLE}) m) AS next_at
      FROM eps WHERE eps.endpoint_id IS NOT NULL
      UNION ALL
      -- Ordered endpoints: when their earliest releasable head falls due.
      SELECT h.endpoint_id, min(h.next_attempt_at) FROM oheads h GROUP BY h.endpoint_id
      UNION ALL
      -- A circuit not closed whose endpoint has succeeded since (its probe, or a straggler) is judged now even
      -- with nothing left to send, so it closes (partial index endpoint_states_circuit_idx).
      SELECT s.endpoint_id, now() FROM endpoint_states s JOIN endpoints e ON e.id = s.endpoint_id
      WHERE s.circuit_state <> 'closed' AND e.failure_streak = 0
    ) w GROUP BY endpoint_id
  ), locked AS (
    SELECT s.* FROM endpoint_states s
    WHERE s.endpoint_id IN (SELECT endpoint_id FROM waiting WHERE next_at <= now())
    ORDER BY s.served_at NULLS FIRST, s.endpoint_id
    LIMIT $1 FOR UPDATE SKIP LOCKED
  )
  SELECT w.endpoint_id,
         GREATEST(0, EXTRACT(EPOCH FROM (w.next_at - now())) * 1000)::float8 AS due_in_ms,
         l.endpoint_id IS NOT NULL AS locked,
         NOT EXISTS (SELECT 1 FROM endpoint_states s WHERE s.endpoint_id = w.endpoint_id) AS no_state,
         ep.application_id, coalesce(ep.max_in_flight, $2)::int AS max_in_flight, ep.rate_limit_per_second,
         l.rate_tokens, l.rate_at, ep.kind::text AS kind, ep.url, ep.disabled, ep.failure_streak,
         l.circuit_state, l.circuit_opened_at, l.circuit_next_probe_at, l.circuit_cooldown_ms,
         l.circuit_probe_streak, ep.failing_since, l.priority_slot,
         w.endpoint_id IN (SELECT endpoint_id FROM oeps) AS ordered,
         now() AS db_now
  FROM waiting w
  JOIN endpoints ep ON ep.id = w.endpoint_id
  LEFT JOIN locked l ON l.endpoint_id = w.endpoint_id`;

/**
 * The locked endpoints' deliveries in flight and due work per priority level — in a statement of its own, taken
 * after CANDIDATES_SQL holds the state rows. Under READ COMMITTED one statement reads one snapshot, taken when it
 * starts: counted in CANDIDATES_SQL, a release another dispatcher committed after that snapshot and before this
 * one's lock (it held the row until its commit) was not seen, and both released up to the cap (two workers, cap 5:
 * 10 requests at once). Due work is counted only up to the endpoint's free credits (a black hole at its cap costs
 * no scan of its backlog), and never past the cycle's budget ($3). For the ordered endpoints ($5), their keys'
 * releasable heads due now per level, and when the first head not yet due falls due (ordered-release.sql.ts).
 */
export const DISPATCH_COUNTS_SQL = `
  WITH RECURSIVE e AS (
    SELECT * FROM unnest($1::text[], $2::int[], $5::boolean[]) AS e(endpoint_id, max_in_flight, ordered)
  ), oeps AS (
    SELECT endpoint_id FROM e WHERE e.ordered
  ), ${orderedHeadsCtes('oeps')}
  SELECT e.endpoint_id, f.n AS in_flight, q.n AS due, o.n AS ordered_due, onext.ms AS ordered_next_ms
  FROM e
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS n FROM deliveries d WHERE d.endpoint_id = e.endpoint_id AND ${RELEASED}) f
  CROSS JOIN LATERAL (
    SELECT array_agg(c.n ORDER BY lv.ord) AS n
    FROM unnest($4::event_priority[]) WITH ORDINALITY AS lv(priority, ord) CROSS JOIN LATERAL (
      SELECT count(*)::int AS n FROM (
        SELECT 1 FROM deliveries d
        WHERE d.endpoint_id = e.endpoint_id AND d.priority = lv.priority
          AND ${RELEASABLE} AND d.next_attempt_at <= now()
        -- In the releasable index's order: without it, for an endpoint holding most of the table's pending rows
        -- the planner took a sequential scan "until LIMIT rows", which reads every finished row ahead of them —
        -- and the whole table for a level with none (48 ms a cycle behind a 44,000 backlog, bench fairness).
        ORDER BY d.next_attempt_at, d.id
        LIMIT GREATEST(0, LEAST($3, e.max_in_flight - f.n))) x) c) q
  -- Ordered endpoints: their releasable heads due now, per level…
  LEFT JOIN LATERAL (
    SELECT array_agg(c.n ORDER BY lv.ord) AS n
    FROM unnest($4::event_priority[]) WITH ORDINALITY AS lv(priority, ord) CROSS JOIN LATERAL (
      SELECT count(*)::int AS n FROM oheads h
      WHERE h.endpoint_id = e.endpoint_id AND h.priority = lv.priority AND h.next_attempt_at <= now()) c
    WHERE e.ordered) o ON true
  -- …and when the earliest of those not due yet falls due (a retry holding its key): the endpoint itself counts as
  -- due now while it has other work, and the retry must not wait for the next poll.
  LEFT JOIN LATERAL (
    SELECT (EXTRACT(EPOCH FROM (min(h.next_attempt_at) - now())) * 1000)::float8 AS ms FROM oheads h
    WHERE e.ordered AND h.endpoint_id = e.endpoint_id AND h.next_attempt_at > now()) onext ON true`;

/**
 * Releases the planned number of due deliveries per endpoint and priority level ($2: splitByPriority's shares),
 * oldest due first within a level (a retry that fell due competes by its due time, so it waits no longer than a new
 * event of its level behind it) — one range scan of the releasable index per endpoint and level —, and advances the
 * endpoints' state ($1): served now, rate bucket less what was released, the position in the priority sequence
 * after this release. The release token is released_at as text (what the claim compares).
 */
const RELEASE_SQL = `
  WITH RECURSIVE g AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
      AS g(endpoint_id text, tokens float8, limited boolean, priority_slot int)
  ), lv AS (
    SELECT * FROM jsonb_to_recordset($2::jsonb)
      AS lv(endpoint_id text, priority event_priority, n int, ordered boolean)
  ), picked AS (
    SELECT p.id FROM (SELECT * FROM lv WHERE NOT lv.ordered) lv CROSS JOIN LATERAL (
      SELECT d.id FROM deliveries d
      WHERE d.endpoint_id = lv.endpoint_id AND d.priority = lv.priority AND ${RELEASABLE}
        AND d.next_attempt_at <= now()
      ORDER BY d.next_attempt_at, d.id LIMIT lv.n FOR UPDATE SKIP LOCKED) p
  ), oeps AS (
    SELECT DISTINCT endpoint_id FROM lv WHERE lv.ordered
  ), ${orderedHeadsCtes('oeps')}, picked_ordered AS (
    -- Endpoints with ordered work: each level's share from its unordered due deliveries and its keys' heads
    -- (recomputed here, under the endpoint's state lock: what another dispatcher released or a redelivery made
    -- pending since the candidates were read is seen), oldest due first; one head per key at most.
    SELECT d.id FROM deliveries d
    WHERE d.id = ANY (ARRAY(
        SELECT p.id FROM (SELECT * FROM lv WHERE lv.ordered) lv CROSS JOIN LATERAL (
          SELECT u.id FROM (
            (SELECT d.id, d.next_attempt_at FROM deliveries d
             WHERE d.endpoint_id = lv.endpoint_id AND d.priority = lv.priority AND ${RELEASABLE}
               AND d.next_attempt_at <= now()
             ORDER BY d.next_attempt_at, d.id LIMIT lv.n)
            UNION ALL
            SELECT h.id, h.next_attempt_at FROM oheads h
            WHERE h.endpoint_id = lv.endpoint_id AND h.priority = lv.priority AND h.next_attempt_at <= now()
          ) u ORDER BY u.next_attempt_at, u.id LIMIT lv.n) p))
      AND d.status = 'pending' AND d.released_at IS NULL
    FOR UPDATE SKIP LOCKED
  ), rel AS (
    -- By primary key, through an array: joined to picked (estimated at 100 rows × LIMIT per row), the planner chose
    -- a hash join over a sequential scan of deliveries on a mid-sized table (300,000 rows, 200 released, busy
    -- machine: 520–710 ms, against 86–216 ms so).
    UPDATE deliveries d SET released_at = now()
    WHERE d.id = ANY (ARRAY(SELECT id FROM picked UNION ALL SELECT id FROM picked_ordered))
    RETURNING d.id, d.endpoint_id, d.priority, d.released_at::text AS token,
              (EXTRACT(EPOCH FROM d.released_at) * 1000)::float8 AS released_ms
  ), st AS (
    UPDATE endpoint_states s SET served_at = now(), priority_slot = g.priority_slot,
      rate_at = CASE WHEN g.limited THEN now() ELSE s.rate_at END,
      rate_tokens = CASE WHEN g.limited
                         THEN g.tokens - (SELECT count(*) FROM rel WHERE rel.endpoint_id = g.endpoint_id)
                         ELSE s.rate_tokens END
    FROM g WHERE s.endpoint_id = g.endpoint_id
  )
  -- Higher levels first: an endpoint's first job carries its high deliveries.
  SELECT id, endpoint_id, token, released_ms FROM rel ORDER BY endpoint_id, priority, id`;

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
        // The ordered heads' recursive skip scan is estimated far above its cost (a worktable of 1,000 rows per
        // step), enough to trigger JIT compilation: 1–3 s per statement on a busy machine, for statements that run
        // in milliseconds. These statements never gain from JIT.
        await tx.$executeRawUnsafe(`SET LOCAL jit = off`);
        const rows = await tx.$queryRawUnsafe<CandidateRow[]>(
          CANDIDATES_SQL,
          limits.endpoints,
          limits.defaultMaxInFlight,
          [...PRIORITIES],
        );
        const now = rows[0]?.db_now ?? new Date();
        const waitingMs = rows.filter((r) => r.due_in_ms > 0).map((r) => r.due_in_ms);
        const dueNow = rows.filter((r) => r.due_in_ms === 0);
        const missing = dueNow.filter((r) => r.no_state).map((r) => r.endpoint_id);
        if (missing.length) {
          await tx.$executeRawUnsafe(
            `INSERT INTO endpoint_states (endpoint_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
            missing,
          );
        }
        const locked = await withCounts(
          tx,
          dueNow.filter((r) => r.locked),
          limits,
        );
        for (const r of locked)
          if (r.ordered_next_ms !== null) waitingMs.push(Math.max(1, r.ordered_next_ms));
        const judged = locked.map((r) => judge(r, now, limits));
        for (const j of judged) {
          const probeAt = j.circuit.state === 'closed' ? null : j.circuit.nextProbeAt;
          if (j.allowance === 0 && probeAt) waitingMs.push(Math.max(1, probeAt.getTime() - now.getTime()));
        }
        const nextDueInMs = waitingMs.length ? Math.ceil(Math.min(...waitingMs)) : null;
        const changes = judged.filter((j) => j.change !== null).map((j) => j.change as StateChange);
        if (changes.length) await tx.$executeRawUnsafe(STATE_SQL, JSON.stringify(changes));
        const circuits = judged
          .filter((j) => j.transition !== null)
          .map((j) => ({
            endpointId: j.row.endpoint_id,
            transition: j.transition as CircuitChange['transition'],
          }));
        const written = await writeOperationalEvents(
          tx,
          judged.flatMap((j) => circuitEvent(j)),
          limits.deadlineSeconds,
        );
        const operationalEvents = written.map((w) => w.eventType);
        const toDisable = judged.filter((j) => j.disable).map((j) => j.row.endpoint_id);
        const candidates: ReleaseCandidate[] = judged.map(({ row: r, allowance }) => ({
          endpointId: r.endpoint_id,
          applicationId: r.application_id,
          maxInFlight: r.max_in_flight,
          inFlight: r.in_flight,
          due: [...r.due, ...(r.ordered_due ?? [])].reduce((sum, n) => sum + n, 0),
          rateLimitPerSecond: r.rate_limit_per_second,
          bucket: { tokens: r.rate_tokens ?? 0, at: r.rate_at },
          circuitAllowance: allowance,
        }));
        const plan = planRelease(candidates, limits.budget, now, limits.rotation);
        // Budget spent, more endpoints due than one cycle takes, state rows just created, or operational events
        // written (their deliveries are releasable now): go again at once.
        const granted = plan.reduce((sum, p) => sum + p.n, 0);
        const more =
          missing.length > 0 ||
          operationalEvents.length > 0 ||
          (granted >= limits.budget && limits.budget > 0) ||
          candidates.length >= limits.endpoints;
        const base = { more, nextDueInMs, circuits, toDisable, operationalEvents };
        if (plan.length === 0) return { released: 0, ...base };
        const limited = new Set(
          candidates.filter((c) => c.rateLimitPerSecond !== null).map((c) => c.endpointId),
        );
        const rowOf = new Map(judged.map(({ row: r }) => [r.endpoint_id, r]));
        const slotOf = (endpointId: string) => rowOf.get(endpointId)?.priority_slot ?? 0;
        const levels = plan.flatMap((p) => {
          const r = rowOf.get(p.endpointId);
          const at = (counts: number[] | null | undefined, l: Priority) =>
            counts?.[PRIORITIES.indexOf(l)] ?? 0;
          const due = perPriority((l) => at(r?.due, l) + at(r?.ordered_due, l));
          const split = splitByPriority(p.n, due, limits.priorities, slotOf(p.endpointId));
          const ordered = (r?.ordered_due ?? []).some((n) => n > 0);
          return PRIORITIES.filter((l) => split[l] > 0).map((l) => ({
            endpoint_id: p.endpointId,
            priority: l,
            n: split[l],
            ordered,
          }));
        });
        const released = await tx.$queryRawUnsafe<
          { id: string; endpoint_id: string; token: string; released_ms: number }[]
        >(
          RELEASE_SQL,
          JSON.stringify(
            plan.map((p) => ({
              endpoint_id: p.endpointId,
              tokens: p.tokens,
              limited: limited.has(p.endpointId),
              priority_slot: nextPrioritySlot(slotOf(p.endpointId), p.n, limits.priorities),
            })),
          ),
          JSON.stringify(levels),
        );
        if (released.length === 0) return { released: 0, ...base };
        await publish(batchesOf(released, limits.perJob));
        return { released: released.length, ...base };
      },
      { timeout: timeoutMs, maxWait: timeoutMs },
    );
  }
}

/** The locked candidates with their in-flight and due counts, read after the lock (DISPATCH_COUNTS_SQL says why). */
async function withCounts(
  tx: Pick<Prisma.TransactionClient, '$queryRawUnsafe'>,
  locked: CandidateRow[],
  limits: DispatchLimits,
): Promise<LockedRow[]> {
  if (locked.length === 0) return [];
  const counts = await tx.$queryRawUnsafe<
    Pick<LockedRow, 'endpoint_id' | 'in_flight' | 'due' | 'ordered_due' | 'ordered_next_ms'>[]
  >(
    DISPATCH_COUNTS_SQL,
    locked.map((r) => r.endpoint_id),
    locked.map((r) => r.max_in_flight),
    limits.budget,
    [...PRIORITIES],
    locked.map((r) => r.ordered),
  );
  const byId = new Map(counts.map((c) => [c.endpoint_id, c]));
  return locked.map((r) => {
    // One row per endpoint asked; were one missing, the endpoint gets no credit this cycle rather than a full cap.
    const c = byId.get(r.endpoint_id);
    return {
      ...r,
      in_flight: c?.in_flight ?? r.max_in_flight,
      due: c?.due ?? PRIORITIES.map(() => 0),
      ordered_due: c?.ordered_due ?? null,
      ordered_next_ms: c?.ordered_next_ms ?? null,
    };
  });
}

/** Writes the circuits that a cycle changed. */
const STATE_SQL = `
  UPDATE endpoint_states s SET
    circuit_state = c.circuit_state::circuit_state, circuit_opened_at = c.circuit_opened_at,
    circuit_next_probe_at = c.circuit_next_probe_at, circuit_cooldown_ms = c.circuit_cooldown_ms,
    circuit_probe_streak = c.circuit_probe_streak
  FROM jsonb_to_recordset($1::jsonb) AS c(endpoint_id text, circuit_state text, circuit_opened_at timestamptz,
    circuit_next_probe_at timestamptz, circuit_cooldown_ms int, circuit_probe_streak int)
  WHERE s.endpoint_id = c.endpoint_id`;

interface Judged {
  row: LockedRow;
  circuit: DispatchCircuit;
  allowance: number;
  transition: CircuitTransition;
  change: StateChange | null;
  disable: boolean;
}

/**
 * One endpoint's circuit at this cycle (circuitAtDispatch; standard endpoints only:
 * operational ones have no failure streak), and whether it has been failing long enough to be disabled.
 */
function judge(r: LockedRow, now: Date, limits: DispatchLimits): Judged {
  const stored: DispatchCircuit = {
    state: r.circuit_state ?? 'closed',
    openedAt: r.circuit_opened_at,
    nextProbeAt: r.circuit_next_probe_at,
    cooldownMs: r.circuit_cooldown_ms ?? 0,
    probeStreak: r.circuit_probe_streak ?? 0,
  };
  const { circuit, allowance, transition } =
    r.kind === 'standard'
      ? circuitAtDispatch(
          stored,
          { failures: r.failure_streak, since: r.failing_since },
          r.in_flight,
          now,
          limits.circuit,
        )
      : { circuit: stored, allowance: Infinity, transition: null };
  const failingSince = r.failure_streak > 0 ? r.failing_since : null;
  const disable =
    r.kind === 'standard' &&
    !r.disabled &&
    limits.disableAfterMs > 0 &&
    failingSince !== null &&
    now.getTime() - failingSince.getTime() >= limits.disableAfterMs;
  const same =
    circuit === stored ||
    (circuit.state === stored.state &&
      circuit.nextProbeAt?.getTime() === stored.nextProbeAt?.getTime() &&
      circuit.probeStreak === stored.probeStreak);
  return {
    row: r,
    circuit,
    allowance,
    transition,
    disable,
    change: !same
      ? {
          endpoint_id: r.endpoint_id,
          circuit_state: circuit.state,
          circuit_opened_at: circuit.openedAt,
          circuit_next_probe_at: circuit.nextProbeAt,
          circuit_cooldown_ms: circuit.cooldownMs,
          circuit_probe_streak: circuit.probeStreak,
        }
      : null,
  };
}

/** endpoint.circuit_opened when a closed circuit opens, endpoint.circuit_closed when it closes. */
function circuitEvent(j: Judged): OperationalEventInput[] {
  const { endpoint_id: endpointId, url } = j.row;
  const event =
    j.transition === 'opened'
      ? {
          type: OPERATIONAL_EVENT.circuitOpened,
          payload: {
            endpointId,
            url,
            failedAttempts: j.row.failure_streak,
            nextProbeAt: j.circuit.nextProbeAt?.toISOString() ?? null,
          },
        }
      : j.transition === 'closed'
        ? {
            type: OPERATIONAL_EVENT.circuitClosed,
            payload: { endpointId, url, openedAt: j.row.circuit_opened_at?.toISOString() ?? null },
          }
        : null;
  return event ? [{ ref: endpointId, applicationId: j.row.application_id, ...event }] : [];
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
