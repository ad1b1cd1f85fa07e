import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, Notification } from 'pg';
import { ApiHarness } from './support/api-harness';
import { connectTestDb, rowCounts } from './support/scratch-db';

const DEADLINE_SECONDS = 3600;

/** Runs `fn` while a trigger makes every delivery insert for `applicationId` fail (dropped afterwards). */
async function withFailingDeliveries(
  db: Client,
  applicationId: string,
  fn: () => Promise<void>,
): Promise<void> {
  const name = `tern_test_fail_deliveries_${randomBytes(4).toString('hex')}`;
  await db.query(`
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.application_id = '${applicationId}' THEN
        RAISE EXCEPTION 'delivery insert refused by test trigger';
      END IF;
      RETURN NEW;
    END $$`);
  try {
    await db.query(
      `CREATE TRIGGER ${name} AFTER INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION ${name}()`,
    );
    await fn();
  } finally {
    await db.query(`DROP TRIGGER IF EXISTS ${name} ON deliveries`);
    await db.query(`DROP FUNCTION IF EXISTS ${name}()`);
  }
}

describe('fan-out: event → releasable deliveries', () => {
  let api: ApiHarness;
  let db: Client;
  before(async () => {
    api = await ApiHarness.start({ DELIVERY_DEADLINE_SECONDS: String(DEADLINE_SECONDS) });
    delete process.env.DELIVERY_DEADLINE_SECONDS;
    db = await connectTestDb();
  });
  after(async () => {
    await db.end();
    await api.stop();
  });

  async function endpoint(key: string, body: Record<string, unknown>): Promise<string> {
    return (await api.createEndpoint(key, { url: 'https://example.com/hook', ...body })).id as string;
  }

  it('creates one releasable delivery per enabled, live endpoint subscribed to the type', async () => {
    const app = await api.createApplication();
    const all = await endpoint(app.key, { eventTypes: [] });
    const onlyA = await endpoint(app.key, { eventTypes: ['a', 'x'] });
    await endpoint(app.key, { eventTypes: ['b'] });
    await endpoint(app.key, { disabled: true });
    const deleted = await endpoint(app.key, {});
    assert.equal((await api.request('DELETE', `/v1/endpoints/${deleted}`, { key: app.key })).status, 204);
    const foreign = await api.createApplication();
    await endpoint(foreign.key, {});

    const listener = await connectTestDb();
    const notified = new Promise<Notification>((resolve) => listener.on('notification', resolve));
    await listener.query('LISTEN tern_dispatch');
    try {
      const r = await api.request('POST', '/v1/events', {
        key: app.key,
        body: { eventType: 'a', payload: { n: 1 } },
      });
      assert.equal(r.status, 202);
      assert.equal(r.body.deliveryCount, 2);
      const n = await Promise.race([
        notified,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000)),
      ]);
      assert.equal(n?.channel, 'tern_dispatch');

      const rows = await db.query(
        `SELECT d.id, d.endpoint_id, d.event_type, d.status, d.attempt_count, d.in_flight_since,
                d.next_attempt_at, d.deadline_at, e.created_at AS event_created_at, d.created_at, d.released_at
         FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.event_id = $1 ORDER BY d.endpoint_id`,
        [r.body.id],
      );
      assert.deepEqual(rows.rows.map((d) => d.endpoint_id).sort(), [all, onlyA].sort());
      for (const d of rows.rows) {
        assert.equal(d.event_type, 'a');
        assert.equal(d.status, 'pending');
        assert.equal(d.attempt_count, 0);
        assert.equal(d.in_flight_since, null);
        assert.equal(d.released_at, null, 'the dispatcher releases it');
        assert.equal(d.deadline_at.getTime() - d.event_created_at.getTime(), DEADLINE_SECONDS * 1000);
        assert.equal(d.created_at.getTime(), d.event_created_at.getTime());
        assert.ok(Math.abs(d.next_attempt_at.getTime() - d.event_created_at.getTime()) < 1000);
      }
    } finally {
      await listener.end();
    }

    const b = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { eventType: 'b', payload: {} },
    });
    assert.equal(b.body.deliveryCount, 2);
    const other = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { eventType: 'other', payload: {} },
    });
    assert.equal(other.body.deliveryCount, 1);
    assert.deepEqual(await rowCounts(db, app.id), { events: 3, deliveries: 5, releasable: 5 });
    assert.deepEqual(await rowCounts(db, foreign.id), { events: 0, deliveries: 0, releasable: 0 });
  });

  it('stores an event without deliveries when no endpoint wants it', async () => {
    const app = await api.createApplication();
    const r = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { eventType: 'lonely', payload: {} },
    });
    assert.equal(r.status, 202);
    assert.equal(r.body.deliveryCount, 0);
    assert.deepEqual(await rowCounts(db, app.id), { events: 1, deliveries: 0, releasable: 0 });
  });

  it('writes nothing when a delivery insert fails: 500, no event, no delivery', async () => {
    const app = await api.createApplication();
    await endpoint(app.key, {});
    await endpoint(app.key, { eventTypes: ['boom'] });
    await withFailingDeliveries(db, app.id, async () => {
      const single = await api.request('POST', '/v1/events', {
        key: app.key,
        body: { eventType: 'boom', payload: { x: 1 }, idempotencyKey: 'atomic' },
      });
      assert.equal(single.status, 500);
      assert.equal(single.body.error, 'internal_error');
      assert.ok(!JSON.stringify(single.body).includes('refused'), 'no database detail leaks');
      const batch = await api.request('POST', '/v1/events/batch', {
        key: app.key,
        body: {
          events: [
            { eventType: 'boom', payload: {} },
            { eventType: 'other', payload: {} },
          ],
        },
      });
      assert.equal(batch.status, 500);
      assert.deepEqual(await rowCounts(db, app.id), { events: 0, deliveries: 0, releasable: 0 });
    });
    // The key was not used up by the failed attempt.
    const retry = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { eventType: 'boom', payload: { x: 1 }, idempotencyKey: 'atomic' },
    });
    assert.equal(retry.status, 202);
    assert.deepEqual(await rowCounts(db, app.id), { events: 1, deliveries: 2, releasable: 2 });
  });

  it('writes a batch of 500 events with all their deliveries, answering in input order', async () => {
    const app = await api.createApplication();
    await endpoint(app.key, { eventTypes: [] });
    await endpoint(app.key, { eventTypes: ['even'] });
    await endpoint(app.key, { eventTypes: ['even'], disabled: true });
    const events = Array.from({ length: 500 }, (_, i) => ({
      eventType: i % 2 === 0 ? 'even' : 'odd',
      payload: { i, pad: 'p'.repeat(200) },
      ...(i % 50 === 0 ? { idempotencyKey: `batch-${i}` } : {}),
    }));
    const r = await api.request('POST', '/v1/events/batch', { key: app.key, body: { events } });
    assert.equal(r.status, 202, JSON.stringify(r.body).slice(0, 500));
    const data = r.body.data as {
      id: string;
      eventType: string;
      deliveryCount: number;
      duplicate: boolean;
    }[];
    assert.equal(data.length, 500);
    assert.equal(new Set(data.map((d) => d.id)).size, 500);
    data.forEach((d, i) => {
      assert.equal(d.eventType, events[i].eventType);
      assert.equal(d.deliveryCount, i % 2 === 0 ? 2 : 1);
      assert.equal(d.duplicate, false);
    });
    assert.deepEqual(await rowCounts(db, app.id), { events: 500, deliveries: 750, releasable: 750 });
    const stored = await db.query<{ id: string; i: number }>(
      `SELECT id, (payload::jsonb->>'i')::int AS i FROM events WHERE id = ANY($1::text[])`,
      [data.map((d) => d.id)],
    );
    const byId = new Map(stored.rows.map((s) => [s.id, s.i]));
    data.forEach((d, i) => assert.equal(byId.get(d.id), i));
    const one = await api.request('GET', `/v1/events/${data[7].id}`, { key: app.key });
    assert.deepEqual(one.body.payload, events[7].payload);
  });

  it('writes nothing from a batch with one bad item', async () => {
    const app = await api.createApplication();
    await endpoint(app.key, {});
    const events: unknown[] = Array.from({ length: 20 }, (_, i) => ({ eventType: 'ok', payload: { i } }));
    events[13] = { eventType: 'ok', payload: 'not an object' };
    const r = await api.request('POST', '/v1/events/batch', { key: app.key, body: { events } });
    assert.equal(r.status, 422);
    assert.deepEqual(
      [...new Set((r.body.fields as { field: string }[]).map((f) => f.field))],
      ['events[13].payload'],
    );
    assert.deepEqual(await rowCounts(db, app.id), { events: 0, deliveries: 0, releasable: 0 });
  });
});

describe('fan-out under load: single events sharing statements', () => {
  let api: ApiHarness;
  let db: Client;
  before(async () => {
    // A pool of 2 leaves one statement slot for event writes, so concurrent events queue and share statements.
    api = await ApiHarness.start({ DATABASE_POOL_SIZE: '2' });
    delete process.env.DATABASE_POOL_SIZE;
    db = await connectTestDb();
  });
  after(async () => {
    await db.end();
    await api.stop();
  });

  it("keeps one application's failing events from taking other applications' events down", async () => {
    const bad = await api.createApplication();
    const good = await api.createApplication();
    for (const app of [bad, good]) {
      const r = await api.request('POST', '/v1/endpoints', {
        key: app.key,
        body: { url: 'https://example.com/hook' },
      });
      assert.equal(r.status, 201);
    }
    await withFailingDeliveries(db, bad.id, async () => {
      const post = (key: string, i: number) =>
        api.request('POST', '/v1/events', { key, body: { eventType: 'mixed', payload: { i } } });
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? post(bad.key, i) : post(good.key, i))),
      );
      results.forEach((r, i) => assert.equal(r.status, i % 3 === 0 ? 500 : 202, `request ${i}`));
    });
    assert.deepEqual(await rowCounts(db, bad.id), { events: 0, deliveries: 0, releasable: 0 });
    assert.deepEqual(await rowCounts(db, good.id), { events: 40, deliveries: 40, releasable: 40 });
  });

  it('still answers 20 concurrent requests with one key with one 202 and nineteen 200s', async () => {
    const app = await api.createApplication();
    const body = { eventType: 'race', payload: {}, idempotencyKey: 'shared-statement' };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => api.request('POST', '/v1/events', { key: app.key, body })),
    );
    assert.equal(results.filter((r) => r.status === 202).length, 1);
    assert.equal(results.filter((r) => r.status === 200).length, 19);
    assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
    assert.deepEqual(await rowCounts(db, app.id), { events: 1, deliveries: 0, releasable: 0 });
  });
});
