import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';
import type { QueryScope } from '../common/query-scope';
import { notifyDispatcher } from '../deliveries/delivery-writes.sql';
import type { DeliveryStatus } from '../deliveries/delivery.model';

/** A blocked key of a block-mode endpoint (partition_blocks, kept by the trigger deliveries_partition_block). */
export interface PartitionBlockRow {
  partitionKey: string;
  deliveryId: string;
  /** The blocking delivery's status now: failed, or pending while a redelivery of it is under way. */
  deliveryStatus: DeliveryStatus;
  blockedAt: Date;
}

/** The blocks of ordered endpoints (issue #12 part 1): listed, and removed by a support action (skip). */
@Injectable()
export class PartitionBlocksRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Whether the endpoint exists (deleted ones included) within scope. */
  async endpointInScope(scope: QueryScope, endpointId: string): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<unknown[]>`
      SELECT 1 FROM endpoints e
      WHERE e.id = ${endpointId} AND (${scope.applicationId ?? null}::text IS NULL
                                      OR e.application_id = ${scope.applicationId ?? null}::text)`;
    return rows.length > 0;
  }

  /** The endpoint's blocked keys in key order after `afterKey`; `limit + 1` rows for toPage(). */
  list(endpointId: string, limit: number, afterKey?: string): Promise<PartitionBlockRow[]> {
    return this.prisma.$queryRaw<PartitionBlockRow[]>`
      SELECT b.partition_key AS "partitionKey", b.delivery_id AS "deliveryId", d.status::text AS "deliveryStatus",
             b.blocked_at AS "blockedAt"
      FROM partition_blocks b JOIN deliveries d ON d.id = b.delivery_id
      WHERE b.endpoint_id = ${endpointId} AND (${afterKey ?? null}::text IS NULL OR b.partition_key > ${afterKey ?? null}::text)
      ORDER BY b.partition_key
      LIMIT ${limit + 1}::int`;
  }

  /**
   * Removes the block of `partitionKey` unless its delivery is pending again (a redelivery under way decides it),
   * and wakes the dispatchers (on commit): the key's next delivery may go. The blocking delivery stays failed,
   * visible and redeliverable. Returns the block removed, the block left when its delivery is pending, or null.
   */
  skip(
    endpointId: string,
    partitionKey: string,
  ): Promise<{ skipped: PartitionBlockRow } | { pending: PartitionBlockRow } | null> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<PartitionBlockRow[]>`
        SELECT b.partition_key AS "partitionKey", b.delivery_id AS "deliveryId", d.status::text AS "deliveryStatus",
               b.blocked_at AS "blockedAt"
        FROM partition_blocks b JOIN deliveries d ON d.id = b.delivery_id
        WHERE b.endpoint_id = ${endpointId} AND b.partition_key = ${partitionKey}
        FOR UPDATE OF b, d`;
      const block = rows[0];
      if (!block) return null;
      if (block.deliveryStatus === 'pending') return { pending: block };
      await tx.$executeRaw`
        DELETE FROM partition_blocks WHERE endpoint_id = ${endpointId} AND partition_key = ${partitionKey}`;
      await notifyDispatcher(tx);
      return { skipped: block };
    });
  }
}
