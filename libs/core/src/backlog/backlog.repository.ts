import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';

export interface DatabaseBacklog {
  outboxUndispatched: number;
  /** Age in seconds of the oldest outbox row due and not yet relayed; 0 when none. */
  outboxLagSeconds: number;
  deliveriesPending: number;
}

@Injectable()
export class BacklogRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** One statement; both tables are read through their (dispatched_at, …) and (status, …) indexes. */
  async read(): Promise<DatabaseBacklog> {
    const [row] = await this.prisma.$queryRaw<
      { undispatched: number; lag: number | null; pending: number }[]
    >`
      SELECT (SELECT count(*) FROM outbox WHERE dispatched_at IS NULL)::int AS undispatched,
             (SELECT EXTRACT(EPOCH FROM (now() - min(available_at)))::float8
                FROM outbox WHERE dispatched_at IS NULL AND available_at <= now()) AS lag,
             (SELECT count(*) FROM deliveries WHERE status = 'pending')::int AS pending`;
    return {
      outboxUndispatched: row?.undispatched ?? 0,
      outboxLagSeconds: Math.max(0, row?.lag ?? 0),
      deliveriesPending: row?.pending ?? 0,
    };
  }
}
