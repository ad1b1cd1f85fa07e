import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';

export interface DatabaseBacklog {
  /** Pending deliveries waiting in Postgres to be released (due or not). */
  deliveriesReleasable: number;
  /** Pending deliveries released to workers and not yet recorded. */
  deliveriesOutstanding: number;
  /** Seconds the oldest due, unreleased delivery has been due; 0 when none. */
  dispatchLagSeconds: number;
  deliveriesPending: number;
}

@Injectable()
export class BacklogRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** One statement, read through the partial indexes of the releasable and released deliveries. */
  async read(): Promise<DatabaseBacklog> {
    const [row] = await this.prisma.$queryRaw<
      { releasable: number; outstanding: number; lag: number | null; pending: number }[]
    >`
      SELECT (SELECT count(*) FROM deliveries WHERE status = 'pending' AND released_at IS NULL)::int AS releasable,
             (SELECT count(*) FROM deliveries WHERE status = 'pending' AND released_at IS NOT NULL)::int
               AS outstanding,
             (SELECT EXTRACT(EPOCH FROM (now() - min(next_attempt_at)))::float8
                FROM deliveries
                WHERE status = 'pending' AND released_at IS NULL AND next_attempt_at <= now()) AS lag,
             (SELECT count(*) FROM deliveries WHERE status = 'pending')::int AS pending`;
    return {
      deliveriesReleasable: row?.releasable ?? 0,
      deliveriesOutstanding: row?.outstanding ?? 0,
      dispatchLagSeconds: Math.max(0, row?.lag ?? 0),
      deliveriesPending: row?.pending ?? 0,
    };
  }
}
