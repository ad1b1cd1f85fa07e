import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { PrismaService } from '@tern/database';
import type { RecordedOutcome } from '../deliveries/delivery.model';
import { failDeliverySetSql, pendingInIdOrderSql } from '../deliveries/delivery-writes.sql';
import { deliveryFailedSourceSql, operationalEventCtes } from '../operational/operational-events.sql';
import type { ReleasedDelivery } from '../queue/queue.constants';
import { failureStreakCtes } from './failure-streak.sql';

/** A delivery claimed for one attempt: everything needed to build the request. */
export interface ClaimedDelivery {
  deliveryId: string;
  applicationId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  eventCreatedAt: Date;
  /** The event payload as JSON text, inserted verbatim into the request body. */
  payloadJson: string;
  /** Number of the attempt this claim starts (1-based). */
  attemptNumber: number;
  /** Attempts made before the current series (redeliveries start a new series). */
  attemptBase: number;
  deadlineAt: Date;
  /** The previous attempt was started and never recorded (worker killed): it has been logged as interrupted. */
  previousInterrupted: boolean;
  /** When the delivery was due (its next_attempt_at before this claim): the queue wait ends at the claim. */
  dueAt: Date | null;
  /** The delivery's in_flight_since as Postgres wrote it at this claim: the result is applied only if it still holds. */
  claimToken: string;
}

/** A delivery failed at its deadline (by a claim or the deadline sweep). */
export interface ExpiredDelivery {
  deliveryId: string;
  /** A delivery.failed operational event was written with it (same transaction). */
  announced: boolean;
}

/** A claimed id that was past its deadline: the claim failed it (deadline_exceeded) instead. */
export interface ExpiredClaim {
  expired: ExpiredDelivery;
}

/** What record() did: per record, whether it moved its delivery on; and the operational events it wrote. */
export interface RecordResult {
  applied: boolean[];
  operationalEvents: string[];
}

export interface AttemptRecord {
  deliveryId: string;
  applicationId: string;
  endpointId: string;
  eventId: string;
  number: number;
  /** The claim this attempt belongs to (ClaimedDelivery.claimToken). */
  claimToken: string;
  startedAt: Date;
  durationMs: number;
  url: string;
  requestHeaders: Record<string, string>;
  responseStatus: number | null;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  outcome: RecordedOutcome;
  /** When the next attempt is due (outcome retrying), else null. */
  nextAttemptAt: Date | null;
  /** Summary kept on the delivery: the error class or "http_<status>", null on success. */
  lastError: string | null;
}

/** One row of the claim statement; which columns are set depends on `kind`. */
interface ClaimRow {
  kind: 'claimed' | 'expired';
  id: string;
  application_id: string | null;
  endpoint_id: string | null;
  event_id: string | null;
  attempt_count: number | null;
  attempt_base: number | null;
  deadline_at: Date | null;
  interrupted: boolean;
  event_type: string | null;
  event_created_at: Date | null;
  payload: string | null;
  due_at: Date | null;
  claim_token: string | null;
  announced: boolean;
}

const INTERRUPTED_MESSAGE =
  'the worker stopped during this attempt (crash or kill); whether the receiver got it is unknown';

/**
 * The write path of the delivery engine. Claims and results are taken in batches (see DeliveryService): one
 * statement claims many deliveries, one statement records many attempts.
 */
@Injectable()
export class DeliveryAttemptsRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly config: AppConfig,
  ) {}

  /**
   * Claims each released delivery whose release is still in force (`released_at` = its job's release token) and
   * that has no attempt in flight younger than `presumedLostAfterMs` (see inFlightPresumedLostAfterMs). A claim
   * marks the delivery `in_flight_since = now()` (that value, as text, is the claim's token: its result is only
   * applied while the delivery still carries it), numbers the attempt, and logs the previous attempt as
   * `interrupted` if one was in flight past the cutoff and never recorded. Per item, in order:
   * - a ClaimedDelivery;
   * - an ExpiredClaim: past its deadline with nothing in flight, failed here (`deadline_exceeded`), with its
   *   delivery.failed operational event in the same statement;
   * - null: nothing to attempt — not pending, gone, released again since (a stale job), or another attempt is in
   *   flight (that attempt records it; if its worker died, the reconciler releases the delivery again).
   * The rows are locked by id, then the token compared: a job that reached the worker before the dispatcher's
   * transaction committed waits here for it and sees the release.
   * An id given twice is claimed once; its second place gets null.
   */
  async claim(
    items: ReleasedDelivery[],
    presumedLostAfterMs: number,
  ): Promise<(ClaimedDelivery | ExpiredClaim | null)[]> {
    // $queryRawUnsafe: the statement is fixed text with positional parameters (tagged $queryRaw can't name it
    // once for the statement cache across calls with different id counts).
    const rows = await this.prisma.$queryRawUnsafe<ClaimRow[]>(
      `WITH cand AS (
         SELECT id, in_flight_since, next_attempt_at, deadline_at, released_at,
                (in_flight_since IS NOT NULL
                 AND in_flight_since >= now() - $3::int * interval '1 millisecond') AS busy
         FROM deliveries
         WHERE id = ANY($1::text[]) AND status = 'pending'
         ORDER BY id FOR UPDATE
       ), mine AS (
         SELECT DISTINCT cand.id, cand.busy, cand.in_flight_since, cand.next_attempt_at, cand.deadline_at
         FROM cand JOIN unnest($1::text[], $4::text[]) AS j(id, token)
           ON j.id = cand.id AND cand.released_at = NULLIF(j.token, '')::timestamptz
       ), expired AS (
         UPDATE deliveries d SET ${failDeliverySetSql(`'deadline_exceeded'`)}
         FROM cand WHERE d.id = cand.id AND NOT cand.busy AND cand.deadline_at <= now()
         RETURNING d.id, d.application_id, d.endpoint_id, d.event_id, d.event_type, d.attempt_count,
                   d.last_error, d.last_status_code
       ), upd AS (
         UPDATE deliveries d SET in_flight_since = now(), attempt_count = d.attempt_count + 1, updated_at = now()
         FROM mine
         WHERE d.id = mine.id AND NOT mine.busy AND mine.deadline_at > now()
           AND coalesce(mine.next_attempt_at, now()) <= now()
         RETURNING d.id, d.application_id, d.endpoint_id, d.event_id, d.attempt_count, d.attempt_base, d.deadline_at,
                   mine.in_flight_since AS interrupted_since, mine.next_attempt_at AS due_at,
                   d.in_flight_since::text AS claim_token
       ), interrupted AS (
         INSERT INTO attempts (id, delivery_id, application_id, endpoint_id, event_id, number, started_at, url,
                               error_class, error_message, outcome)
         SELECT tern_id('att'), upd.id, upd.application_id, upd.endpoint_id, upd.event_id, upd.attempt_count - 1,
                upd.interrupted_since, ep.url, 'interrupted', $2, 'interrupted'
         FROM upd JOIN endpoints ep ON ep.id = upd.endpoint_id
         WHERE upd.interrupted_since IS NOT NULL
       ), failed_src AS (
         ${deliveryFailedSourceSql('expired')}
       ), ${operationalEventCtes('failed_src', this.config.DELIVERY_DEADLINE_SECONDS)}
       SELECT 'claimed' AS kind, upd.id, upd.application_id, upd.endpoint_id, upd.event_id, upd.attempt_count,
              upd.attempt_base, upd.deadline_at, upd.interrupted_since IS NOT NULL AS interrupted, e.event_type,
              e.created_at AS event_created_at, e.payload::text AS payload, upd.due_at, upd.claim_token,
              false AS announced
       FROM upd JOIN events e ON e.id = upd.event_id
       UNION ALL
       SELECT 'expired', x.id, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL,
              EXISTS (SELECT 1 FROM ops_in WHERE ops_in.ref = x.id)
       FROM expired x`,
      items.map((i) => i.deliveryId),
      INTERRUPTED_MESSAGE,
      presumedLostAfterMs,
      items.map((i) => i.releaseToken),
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const answered = new Set<string>();
    return items.map(({ deliveryId: id }) => {
      const r = byId.get(id);
      if (!r) return null;
      // The same delivery twice in one batch: only the first place gets the claim.
      if (answered.has(id)) return null;
      answered.add(id);
      if (r.kind === 'expired') return { expired: { deliveryId: r.id, announced: r.announced } };
      return {
        deliveryId: r.id,
        applicationId: r.application_id as string,
        endpointId: r.endpoint_id as string,
        eventId: r.event_id as string,
        eventType: r.event_type as string,
        eventCreatedAt: r.event_created_at as Date,
        payloadJson: r.payload as string,
        attemptNumber: r.attempt_count as number,
        attemptBase: r.attempt_base as number,
        deadlineAt: r.deadline_at as Date,
        previousInterrupted: r.interrupted,
        dueAt: r.due_at,
        claimToken: r.claim_token as string,
      };
    });
  }

  /**
   * Records attempts and moves their deliveries on, in one statement (one round trip, so the row locks it takes
   * are held for milliseconds, not across several). Every attempt is logged; a delivery is only moved on by the
   * attempt of its current claim (same number and claim token): a late result of an attempt that was superseded —
   * taken over, or the delivery failed or re-queued meanwhile — is logged with outcome `superseded` (its status,
   * body and error kept) and decides nothing.
   * In the same statement, from the attempts applied, in the order given: the failure streaks of their standard
   * endpoints are advanced and the operational events they call for are written (delivery.failed for a delivery
   * that ended failed, endpoint.recovered) — so a crash can lose a result, never only its event. The streak SQL
   * implements advanceFailureStreak of @tern/delivery-rules, the reference it is tested against on a real database.
   * Locks: the standard endpoints whose streak this batch can change (id order), then the deliveries (id order) —
   * the order endpoint disable uses, so the two never deadlock. All successes on a clean streak (the steady state)
   * take no endpoint lock.
   */
  async record(records: AttemptRecord[]): Promise<RecordResult> {
    const json = JSON.stringify(
      records.map((r, ord) => ({
        ord,
        delivery_id: r.deliveryId,
        application_id: r.applicationId,
        endpoint_id: r.endpointId,
        event_id: r.eventId,
        number: r.number,
        claim_token: r.claimToken,
        started_at: r.startedAt.toISOString(),
        duration_ms: r.durationMs,
        url: r.url,
        request_headers: r.requestHeaders,
        response_status: r.responseStatus,
        response_headers: r.responseHeaders,
        response_body: r.responseBody === null ? null : stripNul(r.responseBody),
        error_class: r.errorClass,
        error_message: r.errorMessage === null ? null : stripNul(r.errorMessage),
        outcome: r.outcome,
        next_attempt_at: r.nextAttemptAt?.toISOString() ?? null,
        last_error: r.lastError,
      })),
    );
    // $queryRawUnsafe: fixed text (and fragments) with positional parameters, as in claim().
    const rows = await this.prisma.$queryRawUnsafe<{ id: string | null; event_type: string | null }[]>(
      `WITH v AS (
           SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(
             ord int, delivery_id text, application_id text, endpoint_id text, event_id text, number int,
             claim_token text, started_at timestamptz, duration_ms int, url text, request_headers jsonb,
             response_status int, response_headers jsonb, response_body text, error_class text, error_message text,
             outcome text, next_attempt_at timestamptz, last_error text)
         ), ep_lock AS MATERIALIZED (
           -- FOR NO KEY UPDATE: ingest's foreign-key checks don't wait. Read as locked (the latest streak).
           SELECT id, application_id, url, failure_streak, reenabled_at IS NOT NULL AS reenabled
           FROM endpoints
           WHERE id IN (SELECT endpoint_id FROM v) AND kind = 'standard'
             AND (id IN (SELECT endpoint_id FROM v WHERE outcome <> 'succeeded')
                  OR failure_streak > 0 OR reenabled_at IS NOT NULL)
           ORDER BY id FOR NO KEY UPDATE
         ), locked AS (
           -- Then the deliveries, in id order as claim() takes them (the count makes ep_lock run first).
           SELECT id FROM deliveries
           WHERE id IN (SELECT delivery_id FROM v) AND (SELECT count(*) FROM ep_lock) >= 0
           ORDER BY id FOR UPDATE
         ), upd AS (
           UPDATE deliveries d SET
             status = (CASE v.outcome WHEN 'retrying' THEN 'pending' ELSE v.outcome END)::delivery_status,
             in_flight_since = NULL,
             released_at = NULL,
             next_attempt_at = v.next_attempt_at,
             last_status_code = v.response_status,
             last_error = v.last_error,
             completed_at = CASE WHEN v.outcome = 'retrying' THEN NULL ELSE now() END,
             updated_at = now()
           FROM v JOIN locked ON locked.id = v.delivery_id
           WHERE d.id = v.delivery_id AND d.status = 'pending' AND d.attempt_count = v.number
             AND d.in_flight_since = v.claim_token::timestamptz
           RETURNING d.id, d.application_id, d.endpoint_id, d.event_id, d.event_type, d.attempt_count,
                     d.last_error, d.last_status_code, d.status
         ), ins AS (
           -- Logged as what it was: the decided outcome if it moved its delivery on, else 'superseded'.
           INSERT INTO attempts (id, delivery_id, application_id, endpoint_id, event_id, number, started_at,
                                 duration_ms, url, request_headers, response_status, response_headers,
                                 response_body, error_class, error_message, outcome)
           SELECT tern_id('att'), v.delivery_id, v.application_id, v.endpoint_id, v.event_id, v.number,
                  v.started_at, v.duration_ms, v.url, v.request_headers, v.response_status, v.response_headers,
                  v.response_body, v.error_class, v.error_message,
                  (CASE WHEN upd.id IS NULL THEN 'superseded' ELSE v.outcome END)::attempt_outcome
           FROM v LEFT JOIN upd ON upd.id = v.delivery_id AND upd.attempt_count = v.number
         ), ${failureStreakCtes('v', 'upd', 'ep_lock', '$2')}
         , failed_src AS (
           ${deliveryFailedSourceSql("(SELECT * FROM upd WHERE status = 'failed')")}
         ), ops_src AS (
           SELECT * FROM failed_src UNION ALL SELECT * FROM recovered_src
         ), ${operationalEventCtes('ops_src', this.config.DELIVERY_DEADLINE_SECONDS)}
         SELECT upd.id, NULL AS event_type FROM upd
         UNION ALL
         SELECT NULL, event_type FROM ops_in`,
      json,
      this.config.ENDPOINT_RECOVERED_AFTER_FAILURES,
    );
    const applied = new Set(rows.filter((r) => r.id !== null).map((r) => r.id));
    return {
      applied: records.map((r) => applied.has(r.deliveryId)),
      operationalEvents: rows.filter((r) => r.event_type !== null).map((r) => r.event_type as string),
    };
  }

  /** Fails pending deliveries without an attempt (endpoint gone or disabled before they were tried). */
  async failWithoutAttempt(deliveryIds: string[], reason: string): Promise<void> {
    await this.prisma.$executeRawUnsafe(
      `UPDATE deliveries SET ${failDeliverySetSql('$2')} WHERE ${pendingInIdOrderSql('id = ANY($1::text[])')}`,
      deliveryIds,
      reason,
    );
  }

  /**
   * Releases whose job was lost (Redis wiped, a worker killed before its claim, a dispatcher's job never added):
   * released before `releasedBefore` with no attempt in flight since `inFlightBefore`. They become releasable
   * again (their credit returns to the endpoint) and the dispatcher releases them anew; a stale job that turns up
   * later finds its token not in force. Returns how many.
   */
  async releaseLost(releasedBefore: Date, inFlightBefore: Date, limit: number): Promise<number> {
    return this.prisma.$executeRawUnsafe(
      `UPDATE deliveries SET released_at = NULL
       WHERE id IN (SELECT id FROM deliveries
                    WHERE status = 'pending' AND released_at IS NOT NULL AND released_at < $1
                      AND (in_flight_since IS NULL OR in_flight_since < $2)
                    LIMIT $3 FOR UPDATE SKIP LOCKED)`,
      releasedBefore,
      inFlightBefore,
      limit,
    );
  }

  /**
   * Fails pending deliveries past their deadline that no attempt is working on, with their delivery.failed
   * operational events in the same statement. Returns them.
   */
  async failPastDeadline(inFlightBefore: Date, limit: number): Promise<ExpiredDelivery[]> {
    const rows = await this.prisma.$queryRawUnsafe<{ id: string; announced: boolean }[]>(
      `WITH x AS (
         UPDATE deliveries SET ${failDeliverySetSql(`'deadline_exceeded'`)}
         WHERE id IN (SELECT id FROM deliveries
                      WHERE status = 'pending' AND deadline_at <= now()
                        AND (in_flight_since IS NULL OR in_flight_since < $1)
                      LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id, application_id, endpoint_id, event_id, event_type, attempt_count, last_error, last_status_code
       ), failed_src AS (
         ${deliveryFailedSourceSql('x')}
       ), ${operationalEventCtes('failed_src', this.config.DELIVERY_DEADLINE_SECONDS)}
       SELECT x.id, EXISTS (SELECT 1 FROM ops_in WHERE ops_in.ref = x.id) AS announced FROM x`,
      inFlightBefore,
      limit,
    );
    return rows.map((r) => ({ deliveryId: r.id, announced: r.announced }));
  }
}

/** Postgres text can't hold NUL bytes; a receiver's response body might. */
function stripNul(s: string): string {
  return s.includes('\u0000') ? s.split('\u0000').join('\uFFFD') : s;
}
