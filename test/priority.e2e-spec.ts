import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fieldsOf } from './support/api-harness';
import { DeliveryHelpers } from './support/delivery-helpers';
import { TestReceivers } from './support/receiver';
import { sql, waitFor } from './support/scratch-db';
import { TestStack } from './support/stack';

/**
 * Priorities (issue #12) on the real stack: the `priority` field of POST /v1/events and /v1/events/batch (default,
 * validation, views, idempotent replays), its copy on every delivery, and the release order it buys: a high event
 * sent behind a 20,000-delivery normal backlog to the same endpoint overtakes the backlog.
 */
describe('priority', () => {
  let stack: TestStack;
  const receivers = new TestReceivers();
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    stack = await TestStack.start('priority');
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await receivers.closeAll();
    await stack.stop();
  });

  async function app() {
    const a = await stack.api.createApplication();
    return { ...a, h: new DeliveryHelpers(stack.api, a.key, stack.databaseUrl) };
  }

  /** An endpoint of the application whose receiver answers 200. */
  async function endpoint(h: DeliveryHelpers): Promise<string> {
    return (await h.endpoint((await receivers.start()).always(200).url)).id;
  }

  const post = (key: string, path: string, body: unknown) => stack.api.request('POST', path, { key, body });

  it('defaults to normal; high and low are kept on the event and each delivery, and shown in every view', async () => {
    const { key, h } = await app();
    await endpoint(h);
    await endpoint(h);
    const plain = await post(key, '/v1/events', { eventType: 't', payload: {} });
    const high = await post(key, '/v1/events', { eventType: 't', payload: {}, priority: 'high' });
    assert.equal(plain.status, 202, JSON.stringify(plain.body));
    assert.equal(high.status, 202, JSON.stringify(high.body));
    assert.equal(plain.body.priority, 'normal');
    assert.equal(high.body.priority, 'high');
    const batch = await post(key, '/v1/events/batch', {
      events: [
        { eventType: 't', payload: {}, priority: 'low' },
        { eventType: 't', payload: {} },
      ],
    });
    assert.equal(batch.status, 202, JSON.stringify(batch.body));
    assert.deepEqual(
      (batch.body.data as { priority: string }[]).map((e) => e.priority),
      ['low', 'normal'],
    );

    const detail = await stack.api.request('GET', `/v1/events/${high.body.id}`, { key });
    assert.equal(detail.body.priority, 'high');
    assert.deepEqual(
      (detail.body.deliveries as { priority: string }[]).map((d) => d.priority),
      ['high', 'high'],
    );
    const list = await stack.api.request('GET', '/v1/events', { key });
    assert.deepEqual(
      Object.fromEntries(
        (list.body.data as { id: string; priority: string }[]).map((e) => [e.id, e.priority]),
      ),
      {
        [plain.body.id]: 'normal',
        [high.body.id]: 'high',
        [batch.body.data[0].id]: 'low',
        [batch.body.data[1].id]: 'normal',
      },
    );
    const deliveries = await stack.api.request('GET', `/v1/deliveries?eventId=${batch.body.data[0].id}`, {
      key,
    });
    assert.deepEqual(
      (deliveries.body.data as { priority: string }[]).map((d) => d.priority),
      ['low', 'low'],
    );
    const one = await stack.api.request('GET', `/v1/deliveries/${deliveries.body.data[0].id}`, { key });
    assert.equal(one.body.priority, 'low');
    const rows = await sql<{ event: string; delivery: string }>(
      stack.databaseUrl,
      `SELECT e.priority::text AS event, d.priority::text AS delivery
       FROM deliveries d JOIN events e ON e.id = d.event_id WHERE e.id = $1`,
      [high.body.id],
    );
    assert.deepEqual(rows, [
      { event: 'high', delivery: 'high' },
      { event: 'high', delivery: 'high' },
    ]);
  });

  it('refuses an unknown priority with 422 naming the field, and writes nothing', async () => {
    const { id, key, h } = await app();
    await endpoint(h);
    for (const priority of ['urgent', 'HIGH', 1, true, {}]) {
      const r = await post(key, '/v1/events', { eventType: 't', payload: {}, priority });
      assert.equal(r.status, 422, `${JSON.stringify(priority)}: ${JSON.stringify(r.body)}`);
      assert.deepEqual(fieldsOf(r.body), ['priority']);
      assert.match(JSON.stringify(r.body.fields), /must be one of high, normal, low/);
    }
    const batch = await post(key, '/v1/events/batch', {
      events: [
        { eventType: 't', payload: {} },
        { eventType: 't', payload: {}, priority: 'urgent' },
      ],
    });
    assert.equal(batch.status, 422);
    assert.deepEqual(fieldsOf(batch.body), ['events[1].priority']);
    const [{ n }] = await sql<{ n: number }>(
      stack.databaseUrl,
      `SELECT count(*)::int AS n FROM events WHERE application_id = $1`,
      [id],
    );
    assert.equal(n, 0);
  });

  it('an idempotent replay returns the event with its priority; the same key with another priority is 409', async () => {
    const { key, h } = await app();
    await endpoint(h);
    const body = { eventType: 't', payload: { a: 1 }, priority: 'high', idempotencyKey: 'k-1' };
    const first = await post(key, '/v1/events', body);
    assert.equal(first.status, 202);
    const again = await post(key, '/v1/events', body);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    const inBatch = await post(key, '/v1/events/batch', { events: [body] });
    assert.equal(inBatch.status, 202);
    assert.deepEqual(inBatch.body.data[0], { ...first.body, duplicate: true });
    const other = await post(key, '/v1/events', { ...body, priority: 'low' });
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.match(other.body.message, /different priority/);
    const omitted = await post(key, '/v1/events', { ...body, priority: undefined });
    assert.equal(omitted.status, 409, 'no priority means normal: another event than the high one');
  });

  it('documents the field in the OpenAPI document', async () => {
    const doc = await stack.api.request('GET', '/openapi.json');
    const schema = doc.body.components.schemas.CreateEventDto.properties.priority;
    assert.deepEqual(schema.enum, ['high', 'normal', 'low']);
    assert.equal(schema.default, 'normal');
    assert.deepEqual(doc.body.components.schemas.AcceptedEventDto.properties.priority.enum, [
      'high',
      'normal',
      'low',
    ]);
  });

  it('a high event sent behind a 20,000-delivery normal backlog to the same endpoint overtakes it', async (t) => {
    const { h } = await app();
    // A slow receiver (25 ms per request) and an endpoint capped at 2 in flight and 50/s: the backlog drains at
    // most 50 a second, so it lasts minutes. What arrives is noted in order.
    const arrived: { type: string; at: number }[] = [];
    const rx: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        arrived.push({
          type: (JSON.parse(Buffer.concat(chunks).toString()) as { type: string }).type,
          at: Date.now(),
        });
        setTimeout(() => res.end('ok'), 25);
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => rx.close(r)));
    const ep = await h.endpoint(`http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook`, {
      maxInFlight: 2,
      rateLimitPerSecond: 50,
    });
    cleanups.push(() =>
      stack.api.request('PATCH', `/v1/endpoints/${ep.id}`, { key: h.key, body: { disabled: true } }),
    );

    const BACKLOG = 20_000;
    await h.emitMany(BACKLOG, 'bulk.normal');
    await waitFor('the backlog to flow', async () => arrived.length > 0);
    const sentAt = Date.now();
    const high = await post(h.key, '/v1/events', { eventType: 'urgent.high', payload: {}, priority: 'high' });
    assert.equal(high.status, 202, JSON.stringify(high.body));
    // Written (committed) now: what arrives after this and before the high event went first in release order.
    const normalsBefore = arrived.length;
    const position = await waitFor(
      'the high event to arrive',
      async () => {
        const i = arrived.findIndex((a) => a.type === 'urgent.high');
        return i >= 0 ? i + 1 : null;
      },
      60_000,
      20,
    );
    const latencyMs = arrived[position - 1].at - sentAt;
    const overtaken = BACKLOG - (position - 1);
    t.diagnostic(
      `high event arrived ${latencyMs} ms after it was sent, as request ${position}: ` +
        `${position - 1 - normalsBefore} normal deliveries arrived between its acceptance and its arrival, ` +
        `${overtaken} were still to go`,
    );
    // Order, not time: between the high event's acceptance and its arrival, only what was already in flight
    // (≤ 2) and at most a slot or two of the normal level's share went first — not the backlog.
    assert.ok(
      position - 1 - normalsBefore <= 10,
      `${position - 1 - normalsBefore} normal deliveries arrived between the high event's acceptance and its arrival`,
    );
    assert.ok(overtaken >= 10_000, `only ${overtaken} normal deliveries were still pending when it arrived`);
    const [{ pending }] = await sql<{ pending: number }>(
      stack.databaseUrl,
      `SELECT count(*)::int AS pending FROM deliveries WHERE endpoint_id = $1 AND status = 'pending'`,
      [ep.id],
    );
    assert.ok(pending >= 10_000, `${pending} normal deliveries pending after the high one arrived`);
  });
});
