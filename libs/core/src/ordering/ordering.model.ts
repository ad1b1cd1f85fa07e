/**
 * Ordered delivery (issue #12 part 1), declared once: the endpoint settings (enums endpoint_ordering and
 * ordering_on_failure) and the event's partition key.
 */

/** none: deliveries go in parallel within the endpoint's limits. partitioned: one at a time per partition key. */
export const ENDPOINT_ORDERINGS = ['none', 'partitioned'] as const;
export type EndpointOrdering = (typeof ENDPOINT_ORDERINGS)[number];
export const DEFAULT_ENDPOINT_ORDERING: EndpointOrdering = 'none';

/**
 * For a partitioned endpoint, what a delivery that failed for good does to its key. skip: the key's next delivery
 * goes. block: the key waits until that delivery is redelivered successfully or the block is skipped.
 */
export const ORDERING_ON_FAILURE = ['skip', 'block'] as const;
export type OrderingOnFailure = (typeof ORDERING_ON_FAILURE)[number];
export const DEFAULT_ORDERING_ON_FAILURE: OrderingOnFailure = 'skip';

/** An event's partition key: 1 to 128 printable ASCII characters (no control characters). */
export const PARTITION_KEY_MAX_LENGTH = 128;
export const PARTITION_KEY_PATTERN = /^[\x20-\x7E]{1,128}$/;
export const PARTITION_KEY_REASON = `must be 1 to ${PARTITION_KEY_MAX_LENGTH} printable ASCII characters`;

export function isPartitionKey(v: unknown): v is string {
  return typeof v === 'string' && PARTITION_KEY_PATTERN.test(v);
}
