import type { ReleasedDelivery } from '@tern/core';
import { sql } from './scratch-db';

/**
 * What the dispatcher does to deliveries, for repository tests that drive the claim directly: marks them released
 * (those not released yet) and returns their release tokens, in the order given.
 */
export async function releaseForTest(url: string, ids: string[]): Promise<ReleasedDelivery[]> {
  await sql(url, `UPDATE deliveries SET released_at = now() WHERE id = ANY($1) AND released_at IS NULL`, [
    ids,
  ]);
  const rows = await sql<{ id: string; token: string }>(
    url,
    `SELECT id, released_at::text AS token FROM deliveries WHERE id = ANY($1)`,
    [ids],
  );
  const token = new Map(rows.map((r) => [r.id, r.token]));
  return ids.map((id) => ({ deliveryId: id, releaseToken: token.get(id) as string }));
}
