import assert from 'node:assert/strict';
import { ApiHarness } from './api-harness';
import { sql, waitFor } from './scratch-db';

/** Small helpers shared by the delivery tests: create endpoints, emit events, read delivery state. */
export class DeliveryHelpers {
  constructor(
    readonly api: ApiHarness,
    readonly key: string,
    readonly databaseUrl: string,
  ) {}

  async endpoint(url: string, extra: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
    const ep = await this.api.createEndpoint(this.key, { url, ...extra });
    return { id: ep.id, secret: ep.secret };
  }

  async emit(eventType = 'order.created', payload: Record<string, unknown> = { n: 1 }): Promise<string> {
    const r = await this.api.request('POST', '/v1/events', { key: this.key, body: { eventType, payload } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.id;
  }

  /** Emits `count` events through the batch API, 500 per request. Returns their ids. */
  async emitMany(count: number, eventType = 'bulk.test'): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 500) {
      const events = Array.from({ length: Math.min(500, count - i) }, (_, j) => ({
        eventType,
        payload: { i: i + j },
      }));
      const r = await this.api.request('POST', '/v1/events/batch', { key: this.key, body: { events } });
      assert.equal(r.status, 202, JSON.stringify(r.body).slice(0, 500));
      ids.push(...(r.body.data as { id: string }[]).map((e) => e.id));
    }
    return ids;
  }

  async statusCounts(endpointId: string): Promise<Record<string, number>> {
    const rows = await sql<{ status: string; n: string }>(
      this.databaseUrl,
      'SELECT status, count(*) AS n FROM deliveries WHERE endpoint_id = $1 GROUP BY status',
      [endpointId],
    );
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  async waitAllSettled(
    endpointId: string,
    total: number,
    timeoutMs = 60_000,
  ): Promise<Record<string, number>> {
    return waitFor(
      `${total} deliveries to ${endpointId} to settle`,
      async () => {
        const c = await this.statusCounts(endpointId);
        return (c.succeeded ?? 0) + (c.failed ?? 0) === total ? c : null;
      },
      timeoutMs,
      200,
    );
  }
}
