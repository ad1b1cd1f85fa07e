import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AppConfig } from '@tern/config';
import {
  EndpointHeadersCipher,
  EndpointsRepository,
  EventsRepository,
  FanOutFilters,
  filterDigest,
  newId,
  NewEventRow,
} from '@tern/core';
import { PrismaService } from '@tern/database';
import { createScratchDatabase, sql } from '../support/scratch-db';
import { TEST_ENV } from '../support/test-env';

/**
 * The fan-out with endpoint filters (events.repository.ts + endpoint-filter.sql.ts) on a real database: the pairs
 * left out get no delivery, and the guard refuses (TF001, nothing written) a write computed from filters that are
 * no longer the endpoints' — changed, removed, or added to an endpoint the caller thought had none.
 */
describe('fan-out with endpoint filters (repository on a real database)', () => {
  let url: string;
  let drop: () => Promise<void>;
  let prisma: PrismaService;
  const config = {
    DELIVERY_DEADLINE_SECONDS: 3600,
    SECRETS_ENCRYPTION_KEY: TEST_ENV.SECRETS_ENCRYPTION_KEY,
    SECRETS_ENCRYPTION_KEY_VERSION: 1,
  } as AppConfig;
  let events: EventsRepository;
  let endpoints: EndpointsRepository;
  let app: string;
  let otherApp: string;

  before(async () => {
    ({ url, drop } = await createScratchDatabase('endpoint_filters'));
    prisma = new PrismaService({ DATABASE_URL: url, DATABASE_POOL_SIZE: 2 } as AppConfig);
    events = new EventsRepository(prisma);
    endpoints = new EndpointsRepository(prisma, config, new EndpointHeadersCipher(config));
  });
  beforeEach(async () => {
    [{ id: app }, { id: otherApp }] = await sql<{ id: string }>(
      url,
      `INSERT INTO applications (name) VALUES ('f'), ('g') RETURNING id`,
    );
  });
  after(async () => {
    await prisma?.$disconnect();
    await drop?.();
  });

  async function endpoint(
    applicationId: string,
    filter: string | null,
    eventTypes: string[] = [],
  ): Promise<string> {
    const [{ id }] = await sql<{ id: string }>(
      url,
      `INSERT INTO endpoints (application_id, url, filter, event_types)
       VALUES ($1, 'https://r.example.com/', $2, $3) RETURNING id`,
      [applicationId, filter, eventTypes],
    );
    return id;
  }

  function event(eventType = 'order.paid', applicationId = app): NewEventRow {
    return {
      id: newId('evt'),
      applicationId,
      eventType,
      payloadJson: '{}',
      idempotencyKey: null,
      priority: 'normal',
      partitionKey: null,
    };
  }

  function known(...pairs: [string, string][]): Pick<FanOutFilters, 'knownEndpointIds' | 'knownDigests'> {
    return {
      knownEndpointIds: pairs.map(([id]) => id),
      knownDigests: pairs.map(([, text]) => filterDigest(text)),
    };
  }

  async function deliveredTo(eventId: string): Promise<string[]> {
    const rows = await sql<{ endpoint_id: string }>(
      url,
      `SELECT endpoint_id FROM deliveries WHERE event_id = $1 ORDER BY endpoint_id`,
      [eventId],
    );
    return rows.map((r) => r.endpoint_id);
  }

  async function eventCount(): Promise<number> {
    const [{ n }] = await sql<{ n: number }>(
      url,
      `SELECT count(*)::int AS n FROM events WHERE application_id = $1`,
      [app],
    );
    return n;
  }

  it('writes no delivery for the pairs left out, and counts only those the fan-out reached', async () => {
    const filtered = await endpoint(app, '{"type":"x"}');
    const plain = await endpoint(app, null);
    const unsubscribed = await endpoint(app, '{"type":"y"}', ['other.type']);
    const [a, b] = [event(), event()];
    const written = await events.insertWithDeliveries([a, b], {
      deadlineSeconds: 3600,
      filters: {
        ...known([filtered, '{"type":"x"}'], [unsubscribed, '{"type":"y"}']),
        // b's pair with `unsubscribed` is not a delivery the fan-out would write: not counted as filtered.
        excludedEventIds: [a.id, b.id, b.id],
        excludedEndpointIds: [filtered, filtered, unsubscribed],
      },
    });
    const byId = new Map(written.map((w) => [w.id, w]));
    assert.deepEqual(await deliveredTo(a.id), [plain]);
    assert.deepEqual(await deliveredTo(b.id), [plain]);
    assert.equal(byId.get(a.id)?.deliveryCount, 1);
    assert.equal(byId.get(a.id)?.filteredCount, 1);
    assert.equal(byId.get(b.id)?.filteredCount, 1);
  });

  it('refuses a write from a changed filter (TF001) and writes nothing', async () => {
    const ep = await endpoint(app, '{"type":"new"}');
    await assert.rejects(
      events.insertWithDeliveries([event()], {
        deadlineSeconds: 3600,
        filters: { ...known([ep, '{"type":"old"}']), excludedEventIds: [], excludedEndpointIds: [] },
      }),
      (err) => events.isFilterChanged(err),
    );
    assert.equal(await eventCount(), 0);
  });

  it('refuses a write that does not know of a filter added, or knows of one removed', async () => {
    const added = await endpoint(app, '{"type":"x"}');
    await assert.rejects(events.insertWithDeliveries([event()], { deadlineSeconds: 3600 }), (err) =>
      events.isFilterChanged(err),
    );
    await sql(url, `UPDATE endpoints SET filter = NULL WHERE id = $1`, [added]);
    await assert.rejects(
      events.insertWithDeliveries([event()], {
        deadlineSeconds: 3600,
        filters: { ...known([added, '{"type":"x"}']), excludedEventIds: [], excludedEndpointIds: [] },
      }),
      (err) => events.isFilterChanged(err),
    );
    assert.equal(await eventCount(), 0);
    const [w] = await events.insertWithDeliveries([event()], { deadlineSeconds: 3600 });
    assert.equal(w.deliveryCount, 1);
  });

  it('the refusal also rolls back a keyed write (its transaction) and is not raised for other applications', async () => {
    await endpoint(otherApp, '{"type":"elsewhere"}');
    const ep = await endpoint(app, '{"type":"now"}');
    const keyed = { ...event(), idempotencyKey: 'k1' };
    await assert.rejects(
      events.insertWithDeliveries([keyed], { deadlineSeconds: 3600, reclaimKeysOlderThanSeconds: 60 }),
      (err) => events.isFilterChanged(err),
    );
    assert.equal(await eventCount(), 0);
    // The other application's filter is none of this write's business: not known, not checked.
    const [w] = await events.insertWithDeliveries([{ ...keyed, id: newId('evt') }], {
      deadlineSeconds: 3600,
      reclaimKeysOlderThanSeconds: 60,
      filters: { ...known([ep, '{"type":"now"}']), excludedEventIds: [], excludedEndpointIds: [] },
    });
    assert.equal(w.deliveryCount, 1);
  });

  it('a deleted endpoint is not checked; a disabled one is (re-enabling it changes no filter)', async () => {
    const deleted = await endpoint(app, '{"type":"x"}');
    await sql(url, `UPDATE endpoints SET deleted_at = now() WHERE id = $1`, [deleted]);
    const [w] = await events.insertWithDeliveries([event()], { deadlineSeconds: 3600 });
    assert.equal(w.deliveryCount, 0);
    const disabled = await endpoint(app, '{"type":"x"}');
    await sql(url, `UPDATE endpoints SET disabled = true WHERE id = $1`, [disabled]);
    await assert.rejects(events.insertWithDeliveries([event()], { deadlineSeconds: 3600 }), (err) =>
      events.isFilterChanged(err),
    );
  });

  it('findFilters: the live standard endpoints with a filter, disabled ones included', async () => {
    const a = await endpoint(app, '{"type":"a"}', ['t']);
    await endpoint(app, null);
    const gone = await endpoint(app, '{"type":"b"}');
    await sql(url, `UPDATE endpoints SET deleted_at = now() WHERE id = $1`, [gone]);
    const off = await endpoint(app, '{"type":"c"}');
    await sql(url, `UPDATE endpoints SET disabled = true WHERE id = $1`, [off]);
    const rows = await endpoints.findFilters([app]);
    assert.deepEqual(
      rows.map((r) => [r.id, r.filter, r.eventTypes]).sort(),
      [
        [a, '{"type":"a"}', ['t']],
        [off, '{"type":"c"}', []],
      ].sort(),
    );
  });
});
