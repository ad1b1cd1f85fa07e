import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';

/** An enabled, live operational endpoint's subscription: its application and event types (empty = all). */
export interface OperationalSubscription {
  applicationId: string;
  eventTypes: string[];
}

@Injectable()
export class OperationalEventsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The subscriptions of the enabled, live operational endpoints of these applications. */
  async subscriptions(applicationIds: string[]): Promise<OperationalSubscription[]> {
    if (applicationIds.length === 0) return [];
    const rows = await this.prisma.$queryRaw<{ application_id: string; event_types: string[] | null }[]>`
      SELECT application_id, event_types FROM endpoints
      WHERE application_id = ANY (${[...new Set(applicationIds)]}::text[])
        AND kind = 'operational' AND NOT disabled AND deleted_at IS NULL`;
    return rows.map((r) => ({ applicationId: r.application_id, eventTypes: r.event_types ?? [] }));
  }
}
