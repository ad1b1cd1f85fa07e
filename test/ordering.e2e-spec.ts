import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY, fieldsOf } from './support/api-harness';
import { DeliveryHelpers } from './support/delivery-helpers';
import { sql, waitFor } from './support/scratch-db';
import { exited, spawnWorker, TestStack } from './support/stack';

/** Ordered stacks: tiny retry backoff; a failure streak never opens the circuit (random 500s are the point). */
const ORDERED_ENV = {
  RETRY_BASE_DELAY_MS: '20',
  RETRY_MAX_DELAY_MS: '200',
  CIRCUIT_FAILURE_THRESHOLD: '1000000',
  WORKER_CONCURRENCY: '50',
};

interface Arrival {
  key: string;
  n: number;
  status: number;
}

/**
 * A loopback receiver of ordered events (payload {key, n}): records every arrival with the status it answered,
 * the most requests of one key open at once, and the most keys open at once. `answer` picks each status.
 */
class OrderedReceiver {
  readonly arrivals: Arrival[] = [];
  maxOpenPerKey = 0;
  maxKeysOpen = 0;
  private readonly open = new Map<string, number>();
  private constructor(
    private readonly server: Server,
    public answer: (a: { key: string; n: number }) => number,
  ) {}

  static async start(answer: (a: { key: string; n: number }) => number): Promise<OrderedReceiver> {
    const server = createServer();
    const r = new OrderedReceiver(server, answer);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { data } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          data: { key: string; n: number };
        };
        const open = (r.open.get(data.key) ?? 0) + 1;
        r.open.set(data.key, open);
        r.maxOpenPerKey = Math.max(r.maxOpenPerKey, open);
        r.maxKeysOpen = Math.max(r.maxKeysOpen, [...r.open.values()].filter((v) => v > 0).length);
        // A short wait with the request open, so that overlapping requests of one key would be seen.
        setTimeout(() => {
          const status = r.answer(data);
          r.arrivals.push({ ...data, status });
          r.open.set(data.key, (r.open.get(data.key) ?? 1) - 1);
          res.writeHead(status);
          res.end();
        }, 2);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Arrivals of one key, in the order they came. */
  of(key: string): Arrival[] {
    return this.arrivals.filter((a) => a.key === key);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Strict order per key: the first arrival is n = 0; each next one is the same n again (a retry, only after a
 * failure) or n + 1 (only after n was answered 2xx).
 */
function assertInOrder(arrivals: Arrival[], key: string, count: number): void {
  let last: Arrival | null = null;
  for (const a of arrivals) {
    if (last === null) assert.equal(a.n, 0, `key ${key}: first arrival n=${a.n}`);
    else if (last.status === 200) assert.equal(a.n, last.n + 1, `key ${key}: ${a.n} after ${last.n} (200)`);
    else assert.equal(a.n, last.n, `key ${key}: ${a.n} after ${last.n} failed (${last.status})`);
    last = a;
  }
  assert.equal(last?.n, count - 1, `key ${key}: ends with ${last?.n}`);
  assert.equal(last?.status, 200, `key ${key}: the last one delivered`);
}

/** Events `{key, n}`: n = 0… per key, keys interleaved, through the batch API in array order. */
async function emitKeyed(h: DeliveryHelpers, keys: string[], perKey: number): Promise<string[]> {
  const all = Array.from({ length: keys.length * perKey }, (_, i) => {
    const key = keys[i % keys.length];
    return { eventType: 'ordered.test', payload: { key, n: Math.floor(i / keys.length) }, partitionKey: key };
  });
  const ids: string[] = [];
  for (let i = 0; i < all.length; i += 500) {
    const r = await h.api.request('POST', '/v1/events/batch', {
      key: h.key,
      body: { events: all.slice(i, i + 500) },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body).slice(0, 500));
    ids.push(...(r.body.data as { id: string }[]).map((e) => e.id));
  }
  return ids;
}

/**
 * Ordered delivery per partition key (issue #12 part 1) on the real stack: the API fields, strict per-key order
 * under random failures, keys independent of each other, block mode with skip and redelivery, and two worker
 * processes.
 */
describe('ordered delivery', () => {
  let stack: TestStack;
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    stack = await TestStack.start('ordering', ORDERED_ENV);
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await stack.stop();
  });

  async function app() {
    const a = await stack.api.createApplication();
    return { ...a, h: new DeliveryHelpers(stack.api, a.key, stack.databaseUrl) };
  }

  async function receiver(answer: (a: { key: string; n: number }) => number): Promise<OrderedReceiver> {
    const r = await OrderedReceiver.start(answer);
    cleanups.push(() => r.close());
    return r;
  }

  const post = (key: string, path: string, body: unknown) => stack.api.request('POST', path, { key, body });

  /** Waits until the endpoint has one blocked key; the blocked-partitions answer. */
  const blockedOnce = (key: string, endpointId: string) =>
    waitFor(
      'a key blocked',
      async () => {
        const r = await stack.api.request('GET', `/v1/endpoints/${endpointId}/blocked-partitions`, { key });
        return r.body.data.length === 1 ? r.body : null;
      },
      30_000,
      100,
    );

  it('partitionKey on events and ordering/onFailure on endpoints: defaults, views, validation, replays', async () => {
    const { key, h } = await app();
    const plain = await h.endpoint('http://127.0.0.1:9999/hook');
    const created = await post(key, '/v1/endpoints', {
      url: 'http://127.0.0.1:9999/hook',
      ordering: 'partitioned',
      onFailure: 'block',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.ordering, 'partitioned');
    assert.equal(created.body.onFailure, 'block');
    const got = await stack.api.request('GET', `/v1/endpoints/${plain.id}`, { key });
    assert.equal(got.body.ordering, 'none');
    assert.equal(got.body.onFailure, 'skip');
    const patched = await stack.api.request('PATCH', `/v1/endpoints/${plain.id}`, {
      key,
      body: { ordering: 'partitioned' },
    });
    assert.equal(patched.body.ordering, 'partitioned');
    const bad = await post(key, '/v1/endpoints', {
      url: 'http://127.0.0.1:9999/h',
      ordering: 'fifo',
      onFailure: 1,
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(fieldsOf(bad.body), ['onFailure', 'ordering']);

    const keyed = await post(key, '/v1/events', {
      eventType: 't',
      payload: {},
      partitionKey: 'customer-1',
      idempotencyKey: 'k1',
    });
    assert.equal(keyed.status, 202, JSON.stringify(keyed.body));
    assert.equal(keyed.body.partitionKey, 'customer-1');
    const none = await post(key, '/v1/events', { eventType: 't', payload: {}, partitionKey: null });
    assert.equal(none.body.partitionKey, null);
    const detail = await stack.api.request('GET', `/v1/events/${keyed.body.id}`, { key });
    assert.equal(detail.body.partitionKey, 'customer-1');
    // Copied to the deliveries of endpoints that order by it (both are partitioned now), with one sequence.
    const rows = await sql<{ partition_key: string | null; seq: string | null }>(
      stack.databaseUrl,
      `SELECT partition_key, partition_seq::text AS seq FROM deliveries WHERE event_id = $1`,
      [keyed.body.id],
    );
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.partition_key === 'customer-1' && r.seq !== null));

    for (const partitionKey of ['x'.repeat(129), '', 'tab\there', 42]) {
      const r = await post(key, '/v1/events', { eventType: 't', payload: {}, partitionKey });
      assert.equal(r.status, 422, `${JSON.stringify(partitionKey)}: ${r.status}`);
      assert.deepEqual(fieldsOf(r.body), ['partitionKey']);
    }
    assert.equal(
      (await post(key, '/v1/events', { eventType: 't', payload: {}, partitionKey: 'x'.repeat(128) })).status,
      202,
    );
    const badBatch = await post(key, '/v1/events/batch', {
      events: [
        { eventType: 't', payload: {} },
        { eventType: 't', payload: {}, partitionKey: '\u0001' },
      ],
    });
    assert.equal(badBatch.status, 422);
    assert.ok(
      fieldsOf(badBatch.body).some((f) => f.endsWith('partitionKey')),
      JSON.stringify(badBatch.body),
    );

    const replay = { eventType: 't', payload: {}, idempotencyKey: 'k1' };
    assert.equal((await post(key, '/v1/events', { ...replay, partitionKey: 'customer-1' })).status, 200);
    const other = await post(key, '/v1/events', { ...replay, partitionKey: 'customer-2' });
    assert.equal(other.status, 409);
    assert.match(other.body.message, /partitionKey/);
    assert.equal((await post(key, '/v1/events', replay)).status, 409, 'no key is another key');
  });

  it('1,000 events over 10 keys, receiver randomly answering 500: each key in order, none held by another', async () => {
    const { h } = await app();
    const keys = Array.from({ length: 10 }, (_, i) => `key-${i}`);
    // key-9 fails every attempt until every other key is done: the others must not wait for it.
    let othersDone = false;
    const rx = await receiver(({ key }) =>
      key === 'key-9' && !othersDone ? 500 : Math.random() < 0.3 ? 500 : 200,
    );
    const ep = await h.endpoint(rx.url, { ordering: 'partitioned', maxInFlight: 20 });
    await emitKeyed(h, keys, 100);
    await waitFor(
      'the 900 deliveries of key-0 … key-8',
      async () =>
        rx.arrivals.filter((a) => a.key !== 'key-9' && a.status === 200).length === 900 ? true : null,
      180_000,
      100,
    );
    const slow = rx.of('key-9');
    assert.ok(slow.length > 0 && slow.every((a) => a.n === 0), 'key-9 is still retrying its first event');
    othersDone = true;
    assert.deepEqual(await h.waitAllSettled(ep.id, 1000, 180_000), { succeeded: 1000 });
    for (const k of keys) assertInOrder(rx.of(k), k, 100);
    assert.equal(rx.maxOpenPerKey, 1, 'one request of a key at a time');
    assert.ok(rx.maxKeysOpen > 1, `keys in parallel (${rx.maxKeysOpen} at once)`);
    assert.ok(
      rx.arrivals.some((a) => a.status === 500 && a.key !== 'key-9'),
      'random failures happened',
    );
  });

  it('an unordered endpoint gets the same keyed events in parallel (the key orders only where asked)', async () => {
    const { h } = await app();
    const rx = await receiver(() => 200);
    const ep = await h.endpoint(rx.url, { maxInFlight: 20 });
    await emitKeyed(h, ['one'], 60);
    assert.deepEqual(await h.waitAllSettled(ep.id, 60, 60_000), { succeeded: 60 });
    assert.ok(rx.maxOpenPerKey > 1, `${rx.maxOpenPerKey} of one key open at once`);
  });

  it('block: a delivery failing for good holds its key until skipped (API and blocked list); others go on', async () => {
    const { key, h } = await app();
    // a#1 is refused (400: failed at once) until told otherwise; everything else succeeds.
    let refuse = true;
    const rx = await receiver(({ key: k, n }) => (k === 'a' && n === 1 && refuse ? 400 : 200));
    const ep = await h.endpoint(rx.url, { ordering: 'partitioned', onFailure: 'block' });
    await emitKeyed(h, ['a', 'b'], 4);
    await waitFor('key b delivered', async () => (rx.of('b').length === 4 ? true : null), 60_000, 100);
    const blocked = await blockedOnce(key, ep.id);
    assert.equal(blocked.data[0].partitionKey, 'a');
    assert.equal(blocked.data[0].deliveryStatus, 'failed');
    assert.equal(blocked.nextCursor, null);
    // Waits: a few dispatcher polls later, still nothing after a#1.
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(
      rx.of('a').map((a) => a.n),
      [0, 1],
    );
    const dashboard = await stack.api.request('GET', `/v1/endpoints/${ep.id}/blocked-partitions`, {
      key: ADMIN_KEY,
    });
    assert.equal(dashboard.body.data.length, 1, 'admin sees it too');

    // Redelivered and failing again: still blocked. Redelivered and succeeding: the key resumes in order.
    const redeliver = () =>
      stack.api.request('POST', `/v1/deliveries/${blocked.data[0].deliveryId}/redeliver`, { key });
    assert.equal((await redeliver()).status, 200);
    await waitFor('a#1 again', async () => (rx.of('a').length === 3 ? true : null), 30_000, 100);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(
      rx.of('a').map((a) => a.n),
      [0, 1, 1],
    );
    refuse = false;
    assert.equal((await redeliver()).status, 200);
    await waitFor(
      'key a delivered',
      async () => (rx.of('a').filter((a) => a.status === 200).length === 4 ? true : null),
      30_000,
      100,
    );
    assertInOrder(rx.of('a'), 'a', 4);
    const none = await stack.api.request('GET', `/v1/endpoints/${ep.id}/blocked-partitions`, { key });
    assert.deepEqual(none.body.data, []);
  });

  it('block: skip lets the key go on; the skipped delivery stays failed; 404 and 422 cases', async () => {
    const { key, h } = await app();
    const rx = await receiver(({ key: k, n }) => (k === 'a' && n === 0 ? 400 : 200));
    const ep = await h.endpoint(rx.url, { ordering: 'partitioned', onFailure: 'block' });
    await emitKeyed(h, ['a'], 3);
    await blockedOnce(key, ep.id);
    const skip = (partitionKey: unknown) =>
      post(key, `/v1/endpoints/${ep.id}/partitions/skip`, { partitionKey });
    assert.equal((await skip('b')).status, 404, 'not blocked');
    const invalid = await skip('');
    assert.equal(invalid.status, 422);
    assert.deepEqual(fieldsOf(invalid.body), ['partitionKey']);
    const other = await app();
    assert.equal(
      (await post(other.key, `/v1/endpoints/${ep.id}/partitions/skip`, { partitionKey: 'a' })).status,
      404,
      "another application's endpoint",
    );
    const skipped = await skip('a');
    assert.equal(skipped.status, 200, JSON.stringify(skipped.body));
    assert.equal(skipped.body.partitionKey, 'a');
    assert.equal((await skip('a')).status, 404, 'skipped already');
    assert.deepEqual(await h.waitAllSettled(ep.id, 3, 30_000), { failed: 1, succeeded: 2 });
    assert.deepEqual(
      rx.of('a').map((a) => [a.n, a.status]),
      [
        [0, 400],
        [1, 200],
        [2, 200],
      ],
    );
  });

  it('block: switching the endpoint to onFailure skip unblocks every key', async () => {
    const { key, h } = await app();
    const rx = await receiver(({ n }) => (n === 0 ? 400 : 200));
    const ep = await h.endpoint(rx.url, { ordering: 'partitioned', onFailure: 'block' });
    await emitKeyed(h, ['a', 'b'], 2);
    await waitFor(
      'both keys blocked',
      async () => {
        const r = await stack.api.request('GET', `/v1/endpoints/${ep.id}/blocked-partitions`, { key });
        return r.body.data.length === 2 ? true : null;
      },
      30_000,
      100,
    );
    const patched = await stack.api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key,
      body: { onFailure: 'skip' },
    });
    assert.equal(patched.body.onFailure, 'skip');
    assert.deepEqual(await h.waitAllSettled(ep.id, 4, 30_000), { failed: 2, succeeded: 2 });
    const after = await stack.api.request('GET', `/v1/endpoints/${ep.id}/blocked-partitions`, { key });
    assert.deepEqual(after.body.data, []);
  });

  it('skip (the default): a delivery failing for good ends; the next of its key goes', async () => {
    const { h } = await app();
    const rx = await receiver(({ n }) => (n === 0 ? 400 : 200));
    const ep = await h.endpoint(rx.url, { ordering: 'partitioned' });
    await emitKeyed(h, ['a'], 3);
    assert.deepEqual(await h.waitAllSettled(ep.id, 3, 30_000), { failed: 1, succeeded: 2 });
    assertInOrder(
      rx.of('a').map((a) => ({ ...a, status: 200 })),
      'a',
      3,
    );
  });
});

describe('ordered delivery across worker processes', () => {
  it('two worker processes, random 500s: each key in order, one request of a key at a time', async () => {
    const stack = await TestStack.start('ordering-2w', ORDERED_ENV, { worker: false });
    const workers = [spawnWorker(stack.env, 'ord-w1'), spawnWorker(stack.env, 'ord-w2')];
    const rx = await OrderedReceiver.start(() => (Math.random() < 0.3 ? 500 : 200));
    try {
      const a = await stack.api.createApplication();
      const h = new DeliveryHelpers(stack.api, a.key, stack.databaseUrl);
      const ep = await h.endpoint(rx.url, { ordering: 'partitioned', maxInFlight: 20 });
      const keys = ['p', 'q', 'r', 's', 't'];
      await emitKeyed(h, keys, 40);
      assert.deepEqual(await h.waitAllSettled(ep.id, 200, 180_000), { succeeded: 200 });
      for (const k of keys) assertInOrder(rx.of(k), k, 40);
      assert.equal(rx.maxOpenPerKey, 1, 'one request of a key at a time across both processes');
      assert.ok(rx.maxKeysOpen > 1, `keys in parallel (${rx.maxKeysOpen} at once)`);
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => exited(w)));
      await rx.close();
      await stack.stop();
    }
  });
});
