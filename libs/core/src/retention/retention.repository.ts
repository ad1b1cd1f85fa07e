import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';

/**
 * The smallest id created at `at` or later: ids are "<prefix>_" + 12 hex digits of unix ms + 16 random hex digits
 * (libs/core/src/common/ids.ts, tern_id() in SQL), so `id < idBound(prefix, t)` selects rows created before t
 * through the primary key index, oldest first, without an index on the timestamp.
 */
export function idBound(prefix: string, at: Date): string {
  return `${prefix}_${Math.max(0, at.getTime()).toString(16).padStart(12, '0')}`;
}

/**
 * The retention purge's statements. Each deletes at most `limit` rows in one short statement (its own
 * transaction), oldest first; rows another worker is deleting are skipped (SKIP LOCKED), so every worker can purge
 * at once without waiting on each other.
 */
@Injectable()
export class RetentionRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Deletes attempts created before `before`. Returns how many. */
  async deleteAttempts(before: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM attempts WHERE id IN (
        SELECT id FROM attempts
        WHERE id < ${idBound('att', before)} AND created_at < ${before}
        ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
  }

  /**
   * Deletes events created before `before` that have no pending delivery, with their deliveries and
   * attempts (foreign keys cascade). The candidates' deliveries are locked and checked again in the statement, so
   * a delivery put back to pending meanwhile (a redelivery) keeps its event. Returns how many candidates were
   * looked at (fewer than `limit` = nothing older is left) and how many events were deleted.
   */
  async deleteEvents(before: Date, limit: number): Promise<{ candidates: number; deleted: number }> {
    const [row] = await this.prisma.$queryRaw<{ candidates: number; deleted: number }[]>`
      WITH cand AS (
        SELECT e.id FROM events e
        WHERE e.id < ${idBound('evt', before)} AND e.created_at < ${before}
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
        ORDER BY e.id LIMIT ${limit} FOR UPDATE SKIP LOCKED
      ), locked AS (
        SELECT d.event_id, d.status FROM deliveries d
        WHERE d.event_id IN (SELECT id FROM cand)
        FOR UPDATE
      ), del AS (
        DELETE FROM events
        WHERE id IN (SELECT id FROM cand)
          AND id NOT IN (SELECT event_id FROM locked WHERE status = 'pending')
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM cand)::int AS candidates, (SELECT count(*) FROM del)::int AS deleted`;
    return row ?? { candidates: 0, deleted: 0 };
  }

  /** The oldest event and attempt kept, of one application or (null) of all. */
  async oldest(applicationId: string | null): Promise<{ eventAt: Date | null; attemptAt: Date | null }> {
    const [row] = applicationId
      ? await this.prisma.$queryRaw<{ event_at: Date | null; attempt_at: Date | null }[]>`
          SELECT (SELECT min(created_at) FROM events WHERE application_id = ${applicationId}) AS event_at,
                 (SELECT min(started_at) FROM attempts WHERE application_id = ${applicationId}) AS attempt_at`
      : await this.prisma.$queryRaw<{ event_at: Date | null; attempt_at: Date | null }[]>`
          SELECT (SELECT created_at FROM events ORDER BY id LIMIT 1) AS event_at,
                 (SELECT started_at FROM attempts ORDER BY id LIMIT 1) AS attempt_at`;
    return { eventAt: row?.event_at ?? null, attemptAt: row?.attempt_at ?? null };
  }
}
