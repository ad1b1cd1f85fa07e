import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { ApiHarness, fieldsOf } from './support/api-harness';
import { connectTestDb, rowCounts } from './support/scratch-db';

/** The event every operator case is tried against. */
const PAYLOAD = {
  amount: 5,
  currency: 'EUR',
  email: 'ann@example.com',
  note: null,
  tags: ['urgent', 'vip'],
  customer: { tier: 'gold' },
};
const TYPE = 'order.paid';

/** Per operator: a filter that matches the event above and one that does not. */
const CASES: [string, Record<string, unknown>, Record<string, unknown>][] = [
  ['plain value', { data: { currency: 'EUR' } }, { data: { currency: 'USD' } }],
  ['$eq', { 'data.amount': { $eq: 5 } }, { 'data.amount': { $eq: '5' } }],
  ['$neq', { 'data.amount': { $neq: 6 } }, { 'data.amount': { $neq: 5 } }],
  ['$gt', { 'data.amount': { $gt: 4 } }, { 'data.amount': { $gt: 5 } }],
  ['$gte', { 'data.amount': { $gte: 5 } }, { 'data.amount': { $gte: 6 } }],
  ['$lt', { 'data.amount': { $lt: 6 } }, { 'data.amount': { $lt: 5 } }],
  ['$lte', { 'data.amount': { $lte: 5 } }, { 'data.amount': { $lte: 4 } }],
  ['$in', { 'data.currency': { $in: ['EUR', 'USD'] } }, { 'data.currency': { $in: ['GBP'] } }],
  ['$nin', { 'data.currency': { $nin: ['GBP'] } }, { 'data.currency': { $nin: ['EUR'] } }],
  ['$exists', { 'data.note': { $exists: true } }, { 'data.missing': { $exists: true } }],
  ['$startsWith', { type: { $startsWith: 'order.' } }, { type: { $startsWith: 'user.' } }],
  ['$endsWith', { 'data.email': { $endsWith: '.com' } }, { 'data.email': { $endsWith: '.org' } }],
  [
    '$and',
    { $and: [{ type: TYPE }, { 'data.amount': 5 }] },
    { $and: [{ type: TYPE }, { 'data.amount': 6 }] },
  ],
  ['$or', { $or: [{ type: 'x' }, { 'data.amount': 5 }] }, { $or: [{ type: 'x' }, { 'data.amount': 6 }] }],
  ['$not', { $not: { 'data.customer.tier': 'silver' } }, { $not: { 'data.customer.tier': 'gold' } }],
  ['array containment', { 'data.tags': 'vip' }, { 'data.tags': 'spam' }],
];

describe('payload filters: endpoints get only the events their filter matches', () => {
  let api: ApiHarness;
  let db: Client;
  before(async () => {
    // A long cache TTL: a filter changed behind the API's back must be caught by the fan-out's guard, not by expiry.
    api = await ApiHarness.start({ ENDPOINT_CACHE_TTL_MS: '3600000' });
    db = await connectTestDb();
  });
  after(async () => {
    await db.end();
    await api.stop();
  });

  async function endpointWith(key: string, filter: unknown): Promise<string> {
    return (await api.createEndpoint(key, { url: 'https://example.com/hook', filter })).id as string;
  }

  async function deliveredTo(eventId: string): Promise<string[]> {
    const r = await db.query<{ endpoint_id: string }>(
      'SELECT endpoint_id FROM deliveries WHERE event_id = $1 ORDER BY endpoint_id',
      [eventId],
    );
    return r.rows.map((row) => row.endpoint_id);
  }

  async function send(
    key: string,
    eventType: string,
    payload: unknown,
  ): Promise<{ id: string; deliveryCount: number }> {
    const r = await api.request('POST', '/v1/events', { key, body: { eventType, payload } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body;
  }

  it('each operator: the matching filter gets a delivery, the other none', async () => {
    const app = await api.createApplication();
    const yes = new Map<string, string>();
    const no = new Map<string, string>();
    for (const [name, match, miss] of CASES) {
      yes.set(name, await endpointWith(app.key, match));
      no.set(name, await endpointWith(app.key, miss));
    }
    const unfiltered = await endpointWith(app.key, null);
    const metricsBefore = await filteredTotal();
    const event = await send(app.key, TYPE, PAYLOAD);
    const got = new Set(await deliveredTo(event.id));
    for (const [name] of CASES) {
      assert.ok(got.has(yes.get(name)!), `${name}: the matching filter's endpoint got no delivery`);
      assert.ok(!got.has(no.get(name)!), `${name}: the non-matching filter's endpoint got a delivery`);
    }
    assert.ok(got.has(unfiltered), 'an endpoint without a filter gets every event');
    assert.equal(event.deliveryCount, CASES.length + 1);
    assert.equal(got.size, CASES.length + 1);
    assert.equal((await filteredTotal()) - metricsBefore, CASES.length);
  });

  it('applies filters to batches too', async () => {
    const app = await api.createApplication();
    const big = await endpointWith(app.key, { 'data.total': { $gte: 100 } });
    const r = await api.request('POST', '/v1/events/batch', {
      key: app.key,
      body: {
        events: [
          { eventType: 'order.created', payload: { total: 50 }, idempotencyKey: 'small' },
          { eventType: 'order.created', payload: { total: 150 }, idempotencyKey: 'big' },
        ],
      },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(
      r.body.data.map((e: { deliveryCount: number }) => e.deliveryCount),
      [0, 1],
    );
    assert.deepEqual(await deliveredTo(r.body.data[1].id), [big]);
  });

  it('follows a filter changed behind the cache (another API process): the guard makes it re-read', async () => {
    const app = await api.createApplication();
    const ep = await endpointWith(app.key, { 'data.n': 1 });
    assert.equal((await send(app.key, 'x', { n: 1 })).deliveryCount, 1); // cached now
    // As another API process would: its cache is not this one's.
    await db.query(`UPDATE endpoints SET filter = '{"data.n": 2}' WHERE id = $1`, [ep]);
    assert.equal((await send(app.key, 'x', { n: 1 })).deliveryCount, 0);
    assert.equal((await send(app.key, 'x', { n: 2 })).deliveryCount, 1);
    // A filter removed, and one added to an endpoint that had none.
    const other = (await api.createEndpoint(app.key, { url: 'https://example.com/other' })).id as string;
    await db.query(`UPDATE endpoints SET filter = NULL WHERE id = $1`, [ep]);
    await db.query(`UPDATE endpoints SET filter = '{"data.n": 3}' WHERE id = $1`, [other]);
    const e = await send(app.key, 'x', { n: 1 });
    assert.deepEqual(await deliveredTo(e.id), [ep]);
  });

  it('keeps the filter as sent, returns it in every view, and clears it with null', async () => {
    const app = await api.createApplication();
    const text = '{ "data.total" : {"$gte":100},  "type":"order.paid" }';
    const created = await api.request('POST', '/v1/endpoints', {
      key: app.key,
      rawBody: `{"url":"https://example.com/hook","filter":${text}}`,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const raw = await fetch(`${api.baseUrl}/v1/endpoints/${id}`, {
      headers: { authorization: `Bearer ${app.key}` },
    });
    assert.ok((await raw.text()).includes(`"filter":${text}`), 'the filter comes back byte for byte');
    const list = await api.request('GET', '/v1/endpoints', { key: app.key });
    assert.deepEqual(list.body.data[0].filter, { 'data.total': { $gte: 100 }, type: 'order.paid' });

    const cleared = await api.request('PATCH', `/v1/endpoints/${id}`, {
      key: app.key,
      body: { filter: null },
    });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.filter, null);
    assert.equal((await send(app.key, 'user.created', {})).deliveryCount, 1);

    const set = await api.request('PATCH', `/v1/endpoints/${id}`, {
      key: app.key,
      body: { filter: { type: 'order.paid' } },
    });
    assert.deepEqual(set.body.filter, { type: 'order.paid' });
    assert.equal((await send(app.key, 'user.created', {})).deliveryCount, 0);
    // PATCH without `filter` leaves it alone.
    const other = await api.request('PATCH', `/v1/endpoints/${id}`, {
      key: app.key,
      body: { description: 'd' },
    });
    assert.deepEqual(other.body.filter, { type: 'order.paid' });
  });

  it('keeps keys such as __proto__ and constructor exactly', async () => {
    const app = await api.createApplication();
    const text = '{"data":{"__proto__":{"constructor":"x"}}}';
    const r = await api.request('POST', '/v1/endpoints', {
      key: app.key,
      rawBody: `{"url":"https://example.com/hook","filter":${text}}`,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const stored = await db.query<{ filter: string }>('SELECT filter FROM endpoints WHERE id = $1', [
      r.body.id,
    ]);
    assert.equal(stored.rows[0].filter, text);
    const matching = await api.request('POST', '/v1/events', {
      key: app.key,
      rawBody: '{"eventType":"a","payload":{"__proto__":{"constructor":"x"}}}',
    });
    assert.equal(matching.body.deliveryCount, 1);
    assert.equal((await send(app.key, 'a', { other: 1 })).deliveryCount, 0);
  });

  it('refuses bad filters with 422 naming filter and the path, and changes nothing', async () => {
    const app = await api.createApplication();
    const bad: [unknown, string, RegExp][] = [
      [{ 'data.amount': { $gtt: 5 } }, 'filter.data.amount.$gtt', /unknown operator|not an operator|\$gtt/i],
      [{ $or: [] }, 'filter.$or', /non-empty/i],
      [{ id: 'x' }, 'filter.id', /type|data/],
      [{ 'data.amount': { $gt: [1] } }, 'filter.data.amount.$gt', /number or a string|must be/i],
      ['not an object', 'filter', /JSON object/],
      [[{ type: 'x' }], 'filter', /JSON object/],
      [{ data: { blob: 'x'.repeat(5000) } }, 'filter', /bytes/],
      [nested(20), 'filter', /deeper|nest/],
    ];
    for (const [filter, field, reason] of bad) {
      const r = await api.request('POST', '/v1/endpoints', {
        key: app.key,
        body: { url: 'https://example.com/hook', filter },
      });
      assert.equal(r.status, 422, `${JSON.stringify(filter).slice(0, 80)}: ${JSON.stringify(r.body)}`);
      assert.ok(fieldsOf(r.body).includes(field), `${field} in ${JSON.stringify(r.body.fields)}`);
      const problem = r.body.fields.find((f: { field: string }) => f.field === field);
      assert.match(problem.reason, reason);
    }
    assert.equal((await api.request('GET', '/v1/endpoints', { key: app.key })).body.data.length, 0);

    const dup = await api.request('POST', '/v1/endpoints', {
      key: app.key,
      rawBody: '{"url":"https://example.com/hook","filter":{"type":"a","type":"b"}}',
    });
    assert.equal(dup.status, 422);
    assert.deepEqual(fieldsOf(dup.body), ['filter']);

    const ep = await endpointWith(app.key, { type: 'a' });
    const before = await db.query('SELECT filter, updated_at FROM endpoints WHERE id = $1', [ep]);
    const r = await api.request('PATCH', `/v1/endpoints/${ep}`, {
      key: app.key,
      body: { filter: { type: { $regex: 'a' } }, description: 'changed?' },
    });
    assert.equal(r.status, 422);
    assert.deepEqual(fieldsOf(r.body), ['filter.type.$regex']);
    const afterRow = await db.query('SELECT filter, updated_at, description FROM endpoints WHERE id = $1', [
      ep,
    ]);
    assert.equal(afterRow.rows[0].filter, before.rows[0].filter);
    assert.equal(afterRow.rows[0].description, '');

    const op = await api.request('POST', '/v1/endpoints', {
      key: app.key,
      body: { url: 'https://example.com/ops', kind: 'operational', filter: { type: 'endpoint.disabled' } },
    });
    assert.equal(op.status, 422);
    assert.deepEqual(fieldsOf(op.body), ['filter']);
    assert.deepEqual(await rowCounts(db, app.id), { events: 0, deliveries: 0, releasable: 0 });
  });

  it('POST /v1/endpoints/:id/filter/test answers match or not, and why', async () => {
    const app = await api.createApplication();
    const ep = await endpointWith(app.key, { 'data.total': { $gte: 100 } });
    const test = (body: unknown) =>
      api.request('POST', `/v1/endpoints/${ep}/filter/test`, { key: app.key, body });

    const yes = await test({ eventType: 'order.paid', payload: { total: 120 } });
    assert.equal(yes.status, 200, JSON.stringify(yes.body));
    assert.equal(yes.body.matched, true);
    assert.deepEqual(yes.body.reasons, ['data.total: 120 >= 100']);
    assert.deepEqual(yes.body.filter, { 'data.total': { $gte: 100 } });

    const no = await test({ eventType: 'order.paid', payload: { total: 5 } });
    assert.equal(no.body.matched, false);
    assert.deepEqual(no.body.reasons, ['data.total: 5 is not >= 100']);

    const tried = await test({
      eventType: 'order.paid',
      payload: { total: 5 },
      filter: { type: 'order.paid' },
    });
    assert.equal(tried.body.matched, true);
    assert.deepEqual(tried.body.filter, { type: 'order.paid' });

    const bad = await test({ eventType: 'order.paid', payload: { total: 5 }, filter: { $nope: 1 } });
    assert.equal(bad.status, 422);
    assert.deepEqual(fieldsOf(bad.body), ['filter.$nope']);
    const badPayload = await test({ eventType: 'order.paid', payload: [1] });
    assert.equal(badPayload.status, 422);
    assert.deepEqual(fieldsOf(badPayload.body), ['payload']);

    // Nothing stored, nothing sent.
    assert.deepEqual((await api.request('GET', `/v1/endpoints/${ep}`, { key: app.key })).body.filter, {
      'data.total': { $gte: 100 },
    });
    assert.deepEqual(await rowCounts(db, app.id), { events: 0, deliveries: 0, releasable: 0 });

    const plain = await endpointWith(app.key, null);
    const none = await api.request('POST', `/v1/endpoints/${plain}/filter/test`, {
      key: app.key,
      body: { eventType: 'a', payload: {} },
    });
    assert.equal(none.body.matched, true);
    assert.equal(none.body.filter, null);
  });

  async function filteredTotal(): Promise<number> {
    const r = await fetch(`${api.baseUrl}/metrics`);
    const m = /^tern_deliveries_filtered_total (\d+)/m.exec(await r.text());
    return m ? Number(m[1]) : 0;
  }
});

function nested(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { $eq: 1 };
  for (let i = 0; i < levels; i++) v = { [`k${i}`]: v };
  return { data: v };
}
