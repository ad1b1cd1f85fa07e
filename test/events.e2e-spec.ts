import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { ApiHarness, fieldsOf } from './support/api-harness';
import { connectTestDb, rowCounts } from './support/scratch-db';
import { TEST_ENV } from './support/test-env';

/** Small limits so the 413 paths are cheap to reach. */
const LIMITS = { MAX_PAYLOAD_BYTES: '1024', MAX_REQUEST_BODY_BYTES: '65536', MAX_BATCH_SIZE: '10' };

describe('events API', () => {
  let api: ApiHarness;
  let db: Client;
  before(async () => {
    api = await ApiHarness.start(LIMITS);
    db = await connectTestDb();
  });
  after(async () => {
    await db.end();
    await api.stop();
  });

  async function endpoint(key: string, eventTypes: string[] = []): Promise<string> {
    return (await api.createEndpoint(key, { url: 'https://example.com/hook', eventTypes })).id as string;
  }

  it('accepts an event with 202 and answers {id, eventType, createdAt, deliveryCount}', async () => {
    const app = await api.createApplication();
    await endpoint(app.key);
    const before = Date.now();
    const r = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { eventType: 'invoice.paid', payload: { invoiceId: 'in_1', amount: 4200 } },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), [
      'createdAt',
      'deliveryCount',
      'eventType',
      'id',
      'partitionKey',
      'priority',
    ]);
    assert.equal(r.body.priority, 'normal', 'the default priority');
    assert.equal(r.body.partitionKey, null, 'no partition key by default');
    assert.match(r.body.id, /^evt_[0-9a-f]{28}$/);
    assert.equal(r.body.eventType, 'invoice.paid');
    assert.equal(r.body.deliveryCount, 1);
    const createdAt = Date.parse(r.body.createdAt);
    assert.equal(new Date(createdAt).toISOString(), r.body.createdAt);
    assert.ok(Math.abs(createdAt - before) < 60_000);
    assert.deepEqual(await rowCounts(db, app.id), { events: 1, deliveries: 1, releasable: 1 });
  });

  it('shows an event with its payload and deliveries; 404 for unknown, malformed and foreign ids', async () => {
    const app = await api.createApplication();
    const ep1 = await endpoint(app.key);
    const ep2 = await endpoint(app.key, ['order.created']);
    const payload = { order: { id: 'o_1', lines: [{ sku: 'x', qty: 2 }] }, note: 'ünïcødé ✓', n: null };
    const created = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { eventType: 'order.created', payload, idempotencyKey: 'order-o_1' },
    });
    assert.equal(created.status, 202);
    assert.equal(created.body.deliveryCount, 2);

    const r = await api.request('GET', `/v1/events/${created.body.id}`, { key: app.key });
    assert.equal(r.status, 200);
    assert.equal(r.body.id, created.body.id);
    assert.equal(r.body.eventType, 'order.created');
    assert.equal(r.body.idempotencyKey, 'order-o_1');
    assert.equal(r.body.createdAt, created.body.createdAt);
    assert.deepEqual(r.body.payload, payload);
    assert.equal(r.body.deliveries.length, 2);
    assert.deepEqual(
      (r.body.deliveries as { endpointId: string }[]).map((d) => d.endpointId).sort(),
      [ep1, ep2].sort(),
    );
    for (const d of r.body.deliveries) {
      assert.deepEqual(Object.keys(d).sort(), [
        'attemptCount',
        'completedAt',
        'createdAt',
        'endpointId',
        'id',
        'lastError',
        'lastStatusCode',
        'nextAttemptAt',
        'priority',
        'status',
      ]);
      assert.match(d.id, /^dlv_[0-9a-f]{28}$/);
      assert.equal(d.status, 'pending');
      assert.equal(d.attemptCount, 0);
      assert.equal(typeof d.nextAttemptAt, 'string');
      assert.equal(d.lastStatusCode, null);
      assert.equal(d.lastError, null);
      assert.equal(d.completedAt, null);
    }

    const other = await api.createApplication();
    assert.equal((await api.request('GET', `/v1/events/${created.body.id}`, { key: other.key })).status, 404);
    const unknown = created.body.id.slice(0, -4) + (created.body.id.endsWith('0000') ? '1111' : '0000');
    assert.equal((await api.request('GET', `/v1/events/${unknown}`, { key: app.key })).status, 404);
    assert.equal((await api.request('GET', '/v1/events/not-an-id', { key: app.key })).status, 404);
    assert.equal((await api.request('GET', `/v1/events/${created.body.id}`)).status, 401);
  });

  it('keeps payloads as sent, including "__proto__" keys and deep (but not too deep) nesting', async () => {
    const app = await api.createApplication();
    const raw = '{"eventType":"t","payload":{"__proto__":{"polluted":true},"constructor":1,"a":[[[[1]]]]}}';
    const r = await api.request('POST', '/v1/events', { key: app.key, rawBody: raw });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const got = await api.request('GET', `/v1/events/${r.body.id}`, { key: app.key });
    const text = JSON.stringify(got.body.payload);
    assert.deepEqual(JSON.parse(text), JSON.parse(raw).payload);
    assert.ok(text.includes('"__proto__":{"polluted":true}'));
  });

  it('lists newest first, filters by type and time, and pages without duplicates', async () => {
    const app = await api.createApplication();
    const made: { id: string; eventType: string; createdAt: string }[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await api.request('POST', '/v1/events', {
        key: app.key,
        body: { eventType: i % 2 === 0 ? 'a.even' : 'b.odd', payload: { i }, idempotencyKey: `k-${i}` },
      });
      assert.equal(r.status, 202);
      made.push(r.body);
      await sleep(15);
    }
    const newestFirst = [...made].reverse().map((e) => e.id);

    const all = await api.request('GET', '/v1/events', { key: app.key });
    assert.equal(all.status, 200);
    assert.deepEqual(
      (all.body.data as { id: string }[]).map((e) => e.id),
      newestFirst,
    );
    assert.equal(all.body.nextCursor, null);
    assert.deepEqual(all.body.data[0], {
      id: made[6].id,
      eventType: 'a.even',
      priority: 'normal',
      partitionKey: null,
      idempotencyKey: 'k-6',
      createdAt: made[6].createdAt,
    });

    const paged: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/v1/events?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await api.request('GET', q, { key: app.key });
      assert.equal(page.status, 200);
      assert.ok(page.body.data.length <= 2);
      paged.push(...(page.body.data as { id: string }[]).map((e) => e.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(pages, 4);
    assert.deepEqual(paged, newestFirst);

    const odd = await api.request('GET', '/v1/events?eventType=b.odd', { key: app.key });
    assert.deepEqual(
      (odd.body.data as { id: string }[]).map((e) => e.id),
      [made[5].id, made[3].id, made[1].id],
    );

    // since is inclusive, until exclusive.
    const since = encodeURIComponent(made[2].createdAt);
    const until = encodeURIComponent(made[5].createdAt);
    const window = await api.request('GET', `/v1/events?since=${since}&until=${until}`, { key: app.key });
    assert.equal(window.status, 200);
    assert.deepEqual(
      (window.body.data as { id: string }[]).map((e) => e.id),
      [made[4].id, made[3].id, made[2].id],
    );
    const evenInWindow = await api.request(
      'GET',
      `/v1/events?since=${since}&until=${until}&eventType=a.even`,
      {
        key: app.key,
      },
    );
    assert.deepEqual(
      (evenInWindow.body.data as { id: string }[]).map((e) => e.id),
      [made[4].id, made[2].id],
    );
    const dateOnly = await api.request('GET', '/v1/events?since=2000-01-01&until=2000-01-02', {
      key: app.key,
    });
    assert.equal(dateOnly.status, 200);
    assert.deepEqual(dateOnly.body.data, []);

    // Another application sees none of them.
    const other = await api.createApplication();
    assert.deepEqual((await api.request('GET', '/v1/events', { key: other.key })).body.data, []);
  });

  it('rejects bad list queries: dates, event type, limit (422) and cursor (400)', async () => {
    const app = await api.createApplication();
    for (const [query, field] of [
      ['since=yesterday', 'since'],
      ['since=2026-02-30', 'since'],
      ['since=2026-01-01T10:00:00', 'since'],
      ['until=2026-13-01T00:00:00Z', 'until'],
      ['since=1', 'since'],
      ['eventType=has%20space', 'eventType'],
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['color=red', 'color'],
    ] as const) {
      const r = await api.request('GET', `/v1/events?${query}`, { key: app.key });
      assert.equal(r.status, 422, `${query}: ${JSON.stringify(r.body)}`);
      assert.deepEqual(fieldsOf(r.body), [field], query);
    }
    const bad = await api.request('GET', '/v1/events?cursor=bm9wZQ', { key: app.key });
    assert.equal(bad.status, 400);
  });

  it('answers each kind of bad input with the right status and field, and writes nothing', async () => {
    const app = await api.createApplication();
    await endpoint(app.key);
    const big = 'x'.repeat(1100);
    // Built as text: JSON.stringify itself overflows the stack a few thousand levels down.
    const deep = (n: number) => `{"eventType":"t","payload":{"a":${'['.repeat(n)}${']'.repeat(n)}}}`;
    const cases: {
      name: string;
      body?: unknown;
      raw?: string;
      headers?: Record<string, string>;
      status: number;
      fields?: string[];
    }[] = [
      {
        name: 'bad event type',
        body: { eventType: 'has space', payload: {} },
        status: 422,
        fields: ['eventType'],
      },
      {
        name: 'long event type',
        body: { eventType: 'a'.repeat(129), payload: {} },
        status: 422,
        fields: ['eventType'],
      },
      {
        name: 'event type not a string',
        body: { eventType: 5, payload: {} },
        status: 422,
        fields: ['eventType'],
      },
      { name: 'payload array', body: { eventType: 't', payload: [1, 2] }, status: 422, fields: ['payload'] },
      { name: 'payload string', body: { eventType: 't', payload: 'x' }, status: 422, fields: ['payload'] },
      { name: 'payload null', body: { eventType: 't', payload: null }, status: 422, fields: ['payload'] },
      { name: 'payload number', body: { eventType: 't', payload: 3 }, status: 422, fields: ['payload'] },
      {
        name: 'payload too large',
        body: { eventType: 't', payload: { big } },
        status: 413,
        fields: ['payload'],
      },
      {
        name: 'payload with NUL',
        body: { eventType: 't', payload: { s: 'a\u0000b' } },
        status: 422,
        fields: ['payload'],
      },
      {
        name: 'payload key with NUL',
        body: { eventType: 't', payload: { 'a\u0000': 1 } },
        status: 422,
        fields: ['payload'],
      },
      {
        name: 'payload lone surrogate',
        raw: '{"eventType":"t","payload":{"s":"\\ud800"}}',
        status: 422,
        fields: ['payload'],
      },
      { name: 'payload too deep', raw: deep(150), status: 422, fields: ['payload'] },
      { name: 'payload very deep', raw: deep(10_000), status: 422, fields: ['payload'] },
      {
        name: 'unknown field',
        body: { eventType: 't', payload: {}, extra: 1 },
        status: 422,
        fields: ['extra'],
      },
      { name: 'missing fields', body: {}, status: 422, fields: ['eventType', 'payload'] },
      { name: 'body is an array', raw: '[]', status: 422, fields: ['body'] },
      {
        name: 'empty key',
        body: { eventType: 't', payload: {}, idempotencyKey: '' },
        status: 422,
        fields: ['idempotencyKey'],
      },
      {
        name: 'long key',
        body: { eventType: 't', payload: {}, idempotencyKey: 'k'.repeat(256) },
        status: 422,
        fields: ['idempotencyKey'],
      },
      {
        name: 'key with newline',
        body: { eventType: 't', payload: {}, idempotencyKey: 'a\nb' },
        status: 422,
        fields: ['idempotencyKey'],
      },
      {
        name: 'key not a string',
        body: { eventType: 't', payload: {}, idempotencyKey: 7 },
        status: 422,
        fields: ['idempotencyKey'],
      },
      {
        name: 'key in body and header differ',
        body: { eventType: 't', payload: {}, idempotencyKey: 'one' },
        headers: { 'idempotency-key': 'two' },
        status: 422,
        fields: ['idempotencyKey'],
      },
      { name: 'malformed JSON', raw: '{"eventType":"t","payload":', status: 400 },
      {
        name: 'body over MAX_REQUEST_BODY_BYTES',
        raw: JSON.stringify({ eventType: 't', payload: { s: 'y'.repeat(70_000) } }),
        status: 413,
      },
    ];
    for (const c of cases) {
      const r = await api.request('POST', '/v1/events', {
        key: app.key,
        ...(c.raw !== undefined ? { rawBody: c.raw } : { body: c.body }),
        ...(c.headers ? { headers: c.headers } : {}),
      });
      assert.equal(r.status, c.status, `${c.name}: ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body.message, 'string', c.name);
      if (c.fields) assert.deepEqual(fieldsOf(r.body), c.fields, c.name);
    }
    const badHeader = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { eventType: 't', payload: {} },
      headers: { 'idempotency-key': 'k'.repeat(256) },
    });
    assert.equal(badHeader.status, 422);
    assert.deepEqual(fieldsOf(badHeader.body), ['Idempotency-Key']);
    assert.deepEqual(await rowCounts(db, app.id), { events: 0, deliveries: 0, releasable: 0 });
  });

  it('answers bad batches with 422/413 naming events[i].field, and writes nothing', async () => {
    const app = await api.createApplication();
    await endpoint(app.key);
    const ok = (i: number) => ({ eventType: 'ok', payload: { i } });
    const cases: { name: string; body: unknown; status: number; fields: string[] }[] = [
      {
        name: 'bad type in item 3',
        body: { events: [ok(0), ok(1), ok(2), { eventType: 'bad type', payload: {} }] },
        status: 422,
        fields: ['events[3].eventType'],
      },
      {
        name: 'payload array in item 1',
        body: { events: [ok(0), { eventType: 't', payload: [] }] },
        status: 422,
        fields: ['events[1].payload'],
      },
      {
        name: 'payload too large in item 2',
        body: { events: [ok(0), ok(1), { eventType: 't', payload: { s: 'z'.repeat(1100) } }] },
        status: 413,
        fields: ['events[2].payload'],
      },
      {
        name: 'unknown field in item 0',
        body: { events: [{ ...ok(0), extra: true }] },
        status: 422,
        fields: ['events[0].extra'],
      },
      {
        name: 'repeated key',
        body: {
          events: [{ ...ok(0), idempotencyKey: 'same' }, ok(1), { ...ok(2), idempotencyKey: 'same' }],
        },
        status: 422,
        fields: ['events[2].idempotencyKey'],
      },
      { name: 'empty batch', body: { events: [] }, status: 422, fields: ['events'] },
      { name: 'missing events', body: {}, status: 422, fields: ['events'] },
      { name: 'events not an array', body: { events: {} }, status: 422, fields: ['events'] },
      {
        name: 'too many events',
        body: { events: Array.from({ length: 11 }, (_, i) => ok(i)) },
        status: 422,
        fields: ['events'],
      },
      {
        name: 'unknown top-level field',
        body: { events: [ok(0)], extra: 1 },
        status: 422,
        fields: ['extra'],
      },
    ];
    for (const c of cases) {
      const r = await api.request('POST', '/v1/events/batch', { key: app.key, body: c.body });
      assert.equal(r.status, c.status, `${c.name}: ${JSON.stringify(r.body)}`);
      assert.deepEqual(fieldsOf(r.body), c.fields, c.name);
    }
    const item = await api.request('POST', '/v1/events/batch', {
      key: app.key,
      body: { events: [ok(0), 5] },
    });
    assert.equal(item.status, 422);
    assert.ok(
      fieldsOf(item.body).every((f) => f.startsWith('events')),
      JSON.stringify(item.body),
    );
    const header = await api.request('POST', '/v1/events/batch', {
      key: app.key,
      body: { events: [ok(0)] },
      headers: { 'idempotency-key': 'k' },
    });
    assert.equal(header.status, 422);
    assert.deepEqual(fieldsOf(header.body), ['Idempotency-Key']);
    assert.equal(
      (await api.request('POST', '/v1/events/batch', { key: app.key, rawBody: '{"events":[' })).status,
      400,
    );
    assert.deepEqual(await rowCounts(db, app.id), { events: 0, deliveries: 0, releasable: 0 });
  });

  it('needs an application key', async () => {
    const body = { eventType: 't', payload: {} };
    assert.equal((await api.request('POST', '/v1/events', { body })).status, 401);
    assert.equal(
      (await api.request('POST', '/v1/events', { key: TEST_ENV.ADMIN_API_KEY, body })).status,
      403,
    );
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = await api.request('GET', '/openapi.json');
    for (const path of ['/v1/events', '/v1/events/batch', '/v1/events/{id}']) {
      assert.ok(Object.keys(doc.body.paths).includes(path), path);
    }
    const post = doc.body.paths['/v1/events'].post;
    assert.ok(JSON.stringify(post.requestBody).includes('CreateEventDto'));
  });
});
