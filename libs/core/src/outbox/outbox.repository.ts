import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';

export interface OutboxItem {
  deliveryId: string;
  endpointId: string;
  /** Milliseconds until the delivery may be attempted (0 = now). */
  delayMs: number;
  /** The delivery was attempted before (a redelivery or recovery): a job for it may still sit delayed. */
  requeued: boolean;
}

@Injectable()
export class OutboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Claims up to `limit` undispatched rows that are available now (`FOR UPDATE SKIP LOCKED`, so several relays
   * never take the same row), hands them to `publish` and marks them dispatched — all in one short transaction.
   * If `publish` throws, nothing is marked and the rows are claimed again later. Returns how many were relayed.
   */
  async relay(
    limit: number,
    publish: (items: OutboxItem[]) => Promise<void>,
    timeoutMs: number,
  ): Promise<number> {
    return this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRawUnsafe<
          { id: bigint; delivery_id: string; endpoint_id: string; delay_ms: number; requeued: boolean }[]
        >(
          `SELECT o.id, o.delivery_id, d.endpoint_id,
                  GREATEST(0, EXTRACT(EPOCH FROM (d.next_attempt_at - now())) * 1000)::int AS delay_ms,
                  d.attempt_count > 0 AS requeued
           FROM (SELECT id, delivery_id FROM outbox
                 WHERE dispatched_at IS NULL AND available_at <= now()
                 ORDER BY available_at LIMIT $1 FOR UPDATE SKIP LOCKED) o
           JOIN deliveries d ON d.id = o.delivery_id`,
          limit,
        );
        if (rows.length === 0) return 0;
        await publish(
          rows.map((r) => ({
            deliveryId: r.delivery_id,
            endpointId: r.endpoint_id,
            delayMs: r.delay_ms ?? 0,
            requeued: r.requeued,
          })),
        );
        await tx.$executeRawUnsafe(
          `UPDATE outbox SET dispatched_at = now() WHERE id = ANY($1::bigint[])`,
          rows.map((r) => r.id.toString()),
        );
        return rows.length;
      },
      { timeout: timeoutMs, maxWait: timeoutMs },
    );
  }
}
