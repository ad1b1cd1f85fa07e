import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';
import type { RecordedOutcome } from '../deliveries/delivery.model';
import type { EndpointKind } from '../endpoints/endpoints.repository';
import type { FailedDeliveryRef } from '../operational/operational-events.service';

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

/** A claimed id that was past its deadline: the claim failed it (deadline_exceeded) instead. */
export interface ExpiredClaim {
  expired: FailedDeliveryRef;
}

/** A claimed id that may not be attempted yet (not due, or another attempt is in flight): try again then. */
export interface DeferredClaim {
  notBefore: Date;
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
  /** Summary kept on the delivery: error class or "HTTP <status>" or null on success. */
  lastError: string | null;
}

/** One row of the claim statement; which columns are set depends on `kind`. */
interface ClaimRow {
  kind: 'claimed' | 'expired' | 'deferred';
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
  not_before: Date | null;
  endpoint_url: string | null;
  endpoint_kind: EndpointKind | null;
  last_status_code: number | null;
}

type ExpiredRow = Omit<FailedRow, 'endpoint_url' | 'endpoint_kind' | 'last_error'> & {
  endpoint_url: string | null;
  endpoint_kind: EndpointKind | null;
};

interface FailedRow {
  id: string;
  application_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt_count: number;
  last_error: string | null;
  last_status_code: number | null;
  endpoint_url: string;
  endpoint_kind: EndpointKind;
}

function toFailedDelivery(
  r: Omit<FailedRow, 'endpoint_url' | 'endpoint_kind'> & {
    endpoint_url: string | null;
    endpoint_kind: EndpointKind | null;
  },
): FailedDeliveryRef {
  return {
    deliveryId: r.id,
    applicationId: r.application_id,
    eventId: r.event_id,
    eventType: r.event_type,
    endpointId: r.endpoint_id,
    endpointUrl: r.endpoint_url ?? '',
    endpointKind: r.endpoint_kind ?? 'standard',
    attempts: r.attempt_count,
    lastError: r.last_error,
    lastStatusCode: r.last_status_code,
  };
}

const INTERRUPTED_MESSAGE =
  'the worker stopped during this attempt (crash or kill); whether the receiver got it is unknown';

/**
 * The write path of the delivery engine. Claims and results are taken in batches (see DeliveryService): one
 * statement claims many deliveries, one statement records many attempts.
 */
@Injectable()
export class DeliveryAttemptsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Claims each delivery that may be attempted now: pending, due (`next_attempt_at` reached) and with no attempt in
   * flight younger than `presumedLostAfterMs` (see inFlightPresumedLostAfterMs). A claim marks the delivery
   * `in_flight_since = now()` (that value, as text, is the claim's token: its result is only applied while the
   * delivery still carries it), numbers the attempt, and logs the previous attempt as `interrupted` if one was in
   * flight past the cutoff and never recorded. Per id, in order:
   * - a ClaimedDelivery;
   * - an ExpiredClaim: past its deadline with nothing in flight, failed here (`deadline_exceeded`);
   * - a DeferredClaim: not due yet, or another attempt is in flight — try again at `notBefore`;
   * - null: nothing to attempt (not pending, or gone).
   * An id given twice is claimed once; its second place gets a DeferredClaim.
   */
  async claim(
    ids: string[],
    presumedLostAfterMs: number,
  ): Promise<(ClaimedDelivery | ExpiredClaim | DeferredClaim | null)[]> {
    // $queryRawUnsafe: the statement is fixed text with positional parameters (tagged $queryRaw can't name it
    // once for the statement cache across calls with different id counts).
    const rows = await this.prisma.$queryRawUnsafe<ClaimRow[]>(
      `WITH cand AS (
         SELECT id, in_flight_since, next_attempt_at, deadline_at,
                (in_flight_since IS NOT NULL
                 AND in_flight_since >= now() - $3::int * interval '1 millisecond') AS busy
         FROM deliveries
         WHERE id = ANY($1::text[]) AND status = 'pending'
         ORDER BY id FOR UPDATE
       ), expired AS (
         UPDATE deliveries d SET status = 'failed', last_error = 'deadline_exceeded', next_attempt_at = NULL,
                in_flight_since = NULL, completed_at = now(), updated_at = now()
         FROM cand WHERE d.id = cand.id AND NOT cand.busy AND cand.deadline_at <= now()
         RETURNING d.id, d.application_id, d.endpoint_id, d.event_id, d.event_type, d.attempt_count,
                   d.last_status_code
       ), upd AS (
         UPDATE deliveries d SET in_flight_since = now(), attempt_count = d.attempt_count + 1, updated_at = now()
         FROM cand
         WHERE d.id = cand.id AND NOT cand.busy AND cand.deadline_at > now()
           AND coalesce(cand.next_attempt_at, now()) <= now()
         RETURNING d.id, d.application_id, d.endpoint_id, d.event_id, d.attempt_count, d.attempt_base, d.deadline_at,
                   cand.in_flight_since AS interrupted_since, cand.next_attempt_at AS due_at,
                   d.in_flight_since::text AS claim_token
       ), interrupted AS (
         INSERT INTO attempts (id, delivery_id, application_id, endpoint_id, event_id, number, started_at, url,
                               error_class, error_message, outcome)
         SELECT tern_id('att'), upd.id, upd.application_id, upd.endpoint_id, upd.event_id, upd.attempt_count - 1,
                upd.interrupted_since, ep.url, 'interrupted', $2, 'interrupted'
         FROM upd JOIN endpoints ep ON ep.id = upd.endpoint_id
         WHERE upd.interrupted_since IS NOT NULL
       )
       SELECT 'claimed' AS kind, upd.id, upd.application_id, upd.endpoint_id, upd.event_id, upd.attempt_count,
              upd.attempt_base, upd.deadline_at, upd.interrupted_since IS NOT NULL AS interrupted, e.event_type,
              e.created_at AS event_created_at, e.payload::text AS payload, upd.due_at, upd.claim_token,
              NULL::timestamptz AS not_before, NULL::text AS endpoint_url, NULL::text AS endpoint_kind,
              NULL::int AS last_status_code
       FROM upd JOIN events e ON e.id = upd.event_id
       UNION ALL
       SELECT 'expired', x.id, x.application_id, x.endpoint_id, x.event_id, x.attempt_count, 0, NULL, false,
              x.event_type, NULL, NULL, NULL, NULL, NULL, ep.url, ep.kind::text, x.last_status_code
       FROM expired x JOIN endpoints ep ON ep.id = x.endpoint_id
       UNION ALL
       SELECT 'deferred', c.id, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL,
              CASE WHEN c.busy THEN c.in_flight_since + $3::int * interval '1 millisecond'
                   ELSE c.next_attempt_at END,
              NULL, NULL, NULL
       FROM cand c
       WHERE c.busy OR (c.deadline_at > now() AND c.next_attempt_at > now())`,
      ids,
      INTERRUPTED_MESSAGE,
      presumedLostAfterMs,
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const answered = new Set<string>();
    return ids.map((id) => {
      const r = byId.get(id);
      if (!r) return null;
      // The same delivery twice in one batch (two jobs for it in this process): only the first gets the claim;
      // the other waits like any claim that finds an attempt in flight.
      if (answered.has(id)) return { notBefore: new Date(Date.now() + presumedLostAfterMs) };
      answered.add(id);
      if (r.kind === 'deferred') return { notBefore: r.not_before as Date };
      if (r.kind === 'expired') {
        return { expired: toFailedDelivery({ ...(r as ExpiredRow), last_error: 'deadline_exceeded' }) };
      }
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
   * Records attempts and moves their deliveries on, in one statement. Every attempt is logged; a delivery is only
   * moved on by the attempt of its current claim (same number and claim token): a late result of an attempt that
   * was superseded — taken over, or the delivery failed or re-queued meanwhile — is logged and decides nothing.
   * Returns, per record, whether the delivery was updated.
   */
  async record(records: AttemptRecord[]): Promise<boolean[]> {
    const json = JSON.stringify(
      records.map((r) => ({
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
    const rows = await this.prisma.$queryRawUnsafe<{ id: string }[]>(
      `WITH v AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(
           delivery_id text, application_id text, endpoint_id text, event_id text, number int, claim_token text,
           started_at timestamptz, duration_ms int, url text, request_headers jsonb, response_status int,
           response_headers jsonb, response_body text, error_class text, error_message text, outcome text,
           next_attempt_at timestamptz, last_error text)
       ), ins AS (
         INSERT INTO attempts (id, delivery_id, application_id, endpoint_id, event_id, number, started_at,
                               duration_ms, url, request_headers, response_status, response_headers,
                               response_body, error_class, error_message, outcome)
         SELECT tern_id('att'), delivery_id, application_id, endpoint_id, event_id, number, started_at,
                duration_ms, url, request_headers, response_status, response_headers, response_body,
                error_class, error_message, outcome::attempt_outcome
         FROM v
       ), locked AS (
         -- Lock the deliveries in id order, as claim() does, so a record and a claim never deadlock.
         SELECT id FROM deliveries WHERE id IN (SELECT delivery_id FROM v) ORDER BY id FOR UPDATE
       )
       UPDATE deliveries d SET
         status = (CASE v.outcome WHEN 'retrying' THEN 'pending' ELSE v.outcome END)::delivery_status,
         in_flight_since = NULL,
         next_attempt_at = v.next_attempt_at,
         last_status_code = v.response_status,
         last_error = v.last_error,
         completed_at = CASE WHEN v.outcome = 'retrying' THEN NULL ELSE now() END,
         updated_at = now()
       FROM v JOIN locked ON locked.id = v.delivery_id
       WHERE d.id = v.delivery_id AND d.status = 'pending' AND d.attempt_count = v.number
         AND d.in_flight_since = v.claim_token::timestamptz
       RETURNING d.id`,
      json,
    );
    const updated = new Set(rows.map((r) => r.id));
    return records.map((r) => updated.has(r.deliveryId));
  }

  /** Fails a pending delivery without an attempt (endpoint gone or disabled before it was tried). */
  async failWithoutAttempt(deliveryId: string, reason: string): Promise<void> {
    await this.prisma.$executeRawUnsafe(
      `UPDATE deliveries SET status = 'failed', last_error = $2, next_attempt_at = NULL, in_flight_since = NULL,
              completed_at = now(), updated_at = now()
       WHERE id = $1 AND status = 'pending'`,
      deliveryId,
      reason,
    );
  }

  /** Pending deliveries due for a while (their job was lost) — the reconciler re-enqueues them. */
  async findStranded(
    olderThan: Date,
    inFlightBefore: Date,
    limit: number,
  ): Promise<{ deliveryId: string; endpointId: string }[]> {
    const rows = await this.prisma.$queryRawUnsafe<{ id: string; endpoint_id: string }[]>(
      `SELECT id, endpoint_id FROM deliveries
       WHERE status = 'pending' AND next_attempt_at <= $1
         AND (in_flight_since IS NULL OR in_flight_since < $2)
       ORDER BY next_attempt_at LIMIT $3`,
      olderThan,
      inFlightBefore,
      limit,
    );
    return rows.map((r) => ({ deliveryId: r.id, endpointId: r.endpoint_id }));
  }

  /** Fails pending deliveries past their deadline that no attempt is working on. Returns them. */
  async failPastDeadline(inFlightBefore: Date, limit: number): Promise<FailedDeliveryRef[]> {
    const rows = await this.prisma.$queryRawUnsafe<FailedRow[]>(
      `WITH x AS (
         UPDATE deliveries SET status = 'failed', last_error = 'deadline_exceeded', next_attempt_at = NULL,
                in_flight_since = NULL, completed_at = now(), updated_at = now()
         WHERE id IN (SELECT id FROM deliveries
                      WHERE status = 'pending' AND deadline_at <= now()
                        AND (in_flight_since IS NULL OR in_flight_since < $1)
                      LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id, application_id, endpoint_id, event_id, event_type, attempt_count, last_error, last_status_code
       )
       SELECT x.*, ep.url AS endpoint_url, ep.kind::text AS endpoint_kind
       FROM x JOIN endpoints ep ON ep.id = x.endpoint_id`,
      inFlightBefore,
      limit,
    );
    return rows.map(toFailedDelivery);
  }
}

/** Postgres text can't hold NUL bytes; a receiver's response body might. */
function stripNul(s: string): string {
  return s.includes('\u0000') ? s.split('\u0000').join('\uFFFD') : s;
}
