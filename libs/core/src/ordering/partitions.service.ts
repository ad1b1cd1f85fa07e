import { Injectable } from '@nestjs/common';
import { ConflictError, InvalidInputError, NotFoundError } from '../common/errors';
import { isId } from '../common/ids';
import type { QueryScope } from '../common/query-scope';
import { isPartitionKey, PARTITION_KEY_REASON } from './ordering.model';
import { PartitionBlockRow, PartitionBlocksRepository } from './partition-blocks.repository';

/** A key of a block-mode endpoint waiting on `deliveryId`, which failed for good at `since`. */
export interface BlockedPartitionView {
  partitionKey: string;
  deliveryId: string;
  /** failed, or pending while a redelivery of it is under way (its success unblocks the key). */
  deliveryStatus: string;
  since: string;
}

export interface BlockedPartitionPageView {
  data: BlockedPartitionView[];
  /** The partition key to pass as `after` for the next page; null on the last. */
  nextCursor: string | null;
}

/** Blocked keys of ordered endpoints (onFailure block): listed, and skipped by a support action. */
@Injectable()
export class PartitionsService {
  constructor(private readonly repo: PartitionBlocksRepository) {}

  async blocked(
    scope: QueryScope,
    endpointId: string,
    limit: number,
    after?: string,
  ): Promise<BlockedPartitionPageView> {
    await this.requireEndpoint(scope, endpointId);
    const rows = await this.repo.list(endpointId, limit, after);
    const page = rows.slice(0, limit);
    return {
      data: page.map(toView),
      nextCursor: rows.length > limit ? (page[page.length - 1]?.partitionKey ?? null) : null,
    };
  }

  /**
   * Skips the delivery blocking `partitionKey`: the key's next delivery goes; the skipped one stays failed (visible,
   * redeliverable). 404 when the key is not blocked; 409 while the blocking delivery is pending again (redelivered).
   */
  async skip(scope: QueryScope, endpointId: string, partitionKey: unknown): Promise<BlockedPartitionView> {
    if (!isPartitionKey(partitionKey)) {
      throw new InvalidInputError([{ field: 'partitionKey', reason: PARTITION_KEY_REASON }]);
    }
    await this.requireEndpoint(scope, endpointId);
    const r = await this.repo.skip(endpointId, partitionKey);
    if (!r) throw new NotFoundError('blocked partition', JSON.stringify(partitionKey));
    if ('pending' in r) {
      throw new ConflictError(
        `delivery ${r.pending.deliveryId} blocking partition ${JSON.stringify(partitionKey)} is pending ` +
          '(redelivered): its outcome decides; skip it if it fails again',
      );
    }
    return toView(r.skipped);
  }

  private async requireEndpoint(scope: QueryScope, endpointId: string): Promise<void> {
    if (!isId('ep', endpointId) || !(await this.repo.endpointInScope(scope, endpointId))) {
      throw new NotFoundError('endpoint', endpointId);
    }
  }
}

function toView(r: PartitionBlockRow): BlockedPartitionView {
  return {
    partitionKey: r.partitionKey,
    deliveryId: r.deliveryId,
    deliveryStatus: r.deliveryStatus,
    since: r.blockedAt.toISOString(),
  };
}
