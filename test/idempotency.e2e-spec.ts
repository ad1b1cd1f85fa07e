import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { ApiHarness } from './support/api-harness';
import { connectTestDb, rowCounts } from './support/scratch-db';

async function withEndpoints(api: ApiHarness, n: number): Promise<{ id: string; key: string }> {
  const app = await api.createApplication();
  for (let i = 0; i < n; i++) await api.createEndpoint(app.key, { url: `https://example.com/hook/${i}` });
  return app;
}

describe('idempotency keys', () => {
  let api: ApiHarness;
  let db: Client;
  before(async () => {
    api = await ApiHarness.start();
    db = await connectTestDb();
  });
  after(async () => {
    await db.end();
    await api.stop();
  });

  it('answers a repeated key with 200 and the original event, and creates nothing more', async () => {
    const app = await withEndpoints(api, 2);
    const body = { eventType: 'user.created', payload: { userId: 'u_1' }, idempotencyKey: 'user-u_1' };
    const first = await api.request('POST', '/v1/events', { key: app.key, body });
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await api.request('POST', '/v1/events', { key: app.key, body });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(again.body.deliveryCount, 2);
    // Same key, different type or payload (even a respelling of the same value): 409, nothing written.
    for (const other of [
      { ...body, eventType: 'user.deleted' },
      { ...body, payload: { userId: 'u_2' } },
      { ...body, payload: { other: true } },
    ]) {
      const changed = await api.request('POST', '/v1/events', { key: app.key, body: other });
      assert.equal(changed.status, 409);
      assert.equal(changed.body.error, 'conflict');
      assert.match(changed.body.message, new RegExp(`${first.body.id}.*different`));
    }
    const batch = await api.request('POST', '/v1/events/batch', {
      key: app.key,
      body: {
        events: [
          { eventType: 'user.created', payload: { n: 1 } },
          { ...body, payload: { userId: 'u_3' } },
        ],
      },
    });
    assert.equal(batch.status, 409);
    assert.deepEqual(await rowCounts(db, app.id), { events: 1, deliveries: 2, releasable: 2 });
  });

  it('takes the key from the Idempotency-Key header, alone or agreeing with the body', async () => {
    const app = await withEndpoints(api, 1);
    const body = { eventType: 'order.paid', payload: { orderId: 'o_9' } };
    const headers = { 'idempotency-key': 'order-o_9-paid' };
    const first = await api.request('POST', '/v1/events', { key: app.key, body, headers });
    assert.equal(first.status, 202);
    const again = await api.request('POST', '/v1/events', { key: app.key, body, headers });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    const viaBody = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { ...body, idempotencyKey: 'order-o_9-paid' },
    });
    assert.equal(viaBody.status, 200);
    assert.equal(viaBody.body.id, first.body.id);
    const both = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { ...body, idempotencyKey: 'order-o_9-paid' },
      headers,
    });
    assert.equal(both.status, 200);
    assert.equal(both.body.id, first.body.id);
    const differ = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { ...body, idempotencyKey: 'something-else' },
      headers,
    });
    assert.equal(differ.status, 422);
    assert.deepEqual(await rowCounts(db, app.id), { events: 1, deliveries: 1, releasable: 1 });
    const got = await api.request('GET', `/v1/events/${first.body.id}`, { key: app.key });
    assert.equal(got.body.idempotencyKey, 'order-o_9-paid');
  });

  it('scopes keys to the application', async () => {
    const a = await withEndpoints(api, 0);
    const b = await withEndpoints(api, 0);
    const body = { eventType: 't', payload: {}, idempotencyKey: 'shared-key' };
    const ra = await api.request('POST', '/v1/events', { key: a.key, body });
    const rb = await api.request('POST', '/v1/events', { key: b.key, body });
    assert.equal(ra.status, 202);
    assert.equal(rb.status, 202);
    assert.notEqual(ra.body.id, rb.body.id);
  });

  it('creates exactly one event when 20 requests with the same key arrive at once', async () => {
    const app = await withEndpoints(api, 2);
    const body = { eventType: 'race', payload: { n: 1 }, idempotencyKey: 'race-key' };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => api.request('POST', '/v1/events', { key: app.key, body })),
    );
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 202).length, 1, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 200).length, 19, JSON.stringify(statuses));
    assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
    for (const r of results) assert.equal(r.body.deliveryCount, 2);
    assert.deepEqual(await rowCounts(db, app.id), { events: 1, deliveries: 2, releasable: 2 });
  });

  it('honours per-item keys in batches: earlier keys come back as duplicates', async () => {
    const app = await withEndpoints(api, 1);
    const single = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { eventType: 't', payload: { i: 0 }, idempotencyKey: 'b-0' },
    });
    assert.equal(single.status, 202);
    const events = [
      { eventType: 't', payload: { i: 0 }, idempotencyKey: 'b-0' },
      { eventType: 't', payload: { i: 1 }, idempotencyKey: 'b-1' },
      { eventType: 't', payload: { i: 2 } },
    ];
    const first = await api.request('POST', '/v1/events/batch', { key: app.key, body: { events } });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.deepEqual(
      (first.body.data as { duplicate: boolean }[]).map((d) => d.duplicate),
      [true, false, false],
    );
    assert.deepEqual(first.body.data[0], { ...single.body, duplicate: true });
    const second = await api.request('POST', '/v1/events/batch', { key: app.key, body: { events } });
    assert.equal(second.status, 202);
    assert.deepEqual(
      (second.body.data as { duplicate: boolean }[]).map((d) => d.duplicate),
      [true, true, false],
    );
    assert.equal(second.body.data[1].id, first.body.data[1].id);
    assert.notEqual(second.body.data[2].id, first.body.data[2].id);
    // 1 single + 2 new in the first batch + 1 (unkeyed) in the second.
    assert.deepEqual(await rowCounts(db, app.id), { events: 4, deliveries: 4, releasable: 4 });
  });
});

describe('idempotency window', () => {
  let api: ApiHarness;
  let db: Client;
  before(async () => {
    api = await ApiHarness.start({ IDEMPOTENCY_WINDOW_SECONDS: '1' });
    // applyTestEnv leaves overrides in process.env: don't let them leak into later harnesses.
    delete process.env.IDEMPOTENCY_WINDOW_SECONDS;
    db = await connectTestDb();
  });
  after(async () => {
    await db.end();
    await api.stop();
  });

  it('lets a key be used again once the window has passed', async () => {
    const app = await withEndpoints(api, 1);
    const body = { eventType: 't', payload: { v: 1 }, idempotencyKey: 'reusable' };
    const first = await api.request('POST', '/v1/events', { key: app.key, body });
    assert.equal(first.status, 202);
    assert.equal((await api.request('POST', '/v1/events', { key: app.key, body })).status, 200);
    await sleep(1200);
    const later = await api.request('POST', '/v1/events', { key: app.key, body });
    assert.equal(later.status, 202);
    assert.notEqual(later.body.id, first.body.id);
    const repeat = await api.request('POST', '/v1/events', { key: app.key, body });
    assert.equal(repeat.status, 200);
    assert.equal(repeat.body.id, later.body.id);
    assert.deepEqual(await rowCounts(db, app.id), { events: 2, deliveries: 2, releasable: 2 });
    const old = await api.request('GET', `/v1/events/${first.body.id}`, { key: app.key });
    assert.equal(old.body.idempotencyKey, null);
    const current = await api.request('GET', `/v1/events/${later.body.id}`, { key: app.key });
    assert.equal(current.body.idempotencyKey, 'reusable');
  });

  it('gives an expired key to exactly one of many concurrent requests', async () => {
    const app = await withEndpoints(api, 1);
    const body = { eventType: 't', payload: {}, idempotencyKey: 'contended' };
    const first = await api.request('POST', '/v1/events', { key: app.key, body });
    assert.equal(first.status, 202);
    await sleep(1200);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => api.request('POST', '/v1/events', { key: app.key, body })),
    );
    assert.equal(
      results.filter((r) => r.status === 202).length,
      1,
      JSON.stringify(results.map((r) => r.status)),
    );
    assert.equal(results.filter((r) => r.status === 200).length, 9);
    const ids = new Set(results.map((r) => r.body.id));
    assert.equal(ids.size, 1);
    assert.ok(!ids.has(first.body.id));
    assert.deepEqual(await rowCounts(db, app.id), { events: 2, deliveries: 2, releasable: 2 });
  });

  it('reuses expired keys inside batches too', async () => {
    const app = await withEndpoints(api, 1);
    const events = [{ eventType: 't', payload: {}, idempotencyKey: 'batch-key' }];
    const first = await api.request('POST', '/v1/events/batch', { key: app.key, body: { events } });
    assert.equal(first.body.data[0].duplicate, false);
    const dup = await api.request('POST', '/v1/events/batch', { key: app.key, body: { events } });
    assert.equal(dup.body.data[0].duplicate, true);
    await sleep(1200);
    const later = await api.request('POST', '/v1/events/batch', { key: app.key, body: { events } });
    assert.equal(later.status, 202);
    assert.equal(later.body.data[0].duplicate, false);
    assert.notEqual(later.body.data[0].id, first.body.data[0].id);
    assert.deepEqual(await rowCounts(db, app.id), { events: 2, deliveries: 2, releasable: 2 });
  });

  it('a batch whose key is taken by a different event after its own check writes nothing (409)', async () => {
    const app = await withEndpoints(api, 1);
    // Another request holds the key in an open transaction: invisible to the batch's check, and the batch's
    // insert waits for it on the key (ON CONFLICT) — then finds it holds a different payload.
    const other = await connectTestDb();
    try {
      await other.query('BEGIN');
      await other.query(
        `INSERT INTO events (id, application_id, event_type, payload, idempotency_key)
         VALUES ('evt_' || md5(random()::text), $1, 't', '{"other":true}', 'raced')`,
        [app.id],
      );
      const batch = api.request('POST', '/v1/events/batch', {
        key: app.key,
        body: {
          events: [
            { eventType: 't', payload: { unkeyed: 1 } },
            { eventType: 't', payload: { mine: true }, idempotencyKey: 'raced' },
          ],
        },
      });
      for (let i = 0; i < 200; i++) {
        const w = await db.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (w.rows[0].n > 0) break;
        await sleep(10);
      }
      await other.query('COMMIT');
      const r = await batch;
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.match(r.body.message, /different payload/);
      assert.deepEqual(await rowCounts(db, app.id), { events: 1, deliveries: 0, releasable: 0 });
    } finally {
      await other.end();
    }
  });
});
