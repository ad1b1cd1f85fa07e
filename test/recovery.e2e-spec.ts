import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DeliveryHelpers } from './support/delivery-helpers';
import { PrivateRedis } from './support/redis-server';
import { TestReceiver } from './support/receiver';
import { sql, waitFor } from './support/scratch-db';
import { exited, spawnWorker, TestStack } from './support/stack';

describe('recovery: crashes, lost Redis data, several workers', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('a worker SIGKILLed mid-request: after restart the event is delivered with the same webhook-id and the interrupted attempt is on record', async () => {
    const stack = await TestStack.start(
      'sigkill',
      { DELIVERY_ATTEMPT_TIMEOUT_MS: '10000' },
      { worker: false },
    );
    cleanups.push(() => stack.stop());
    const rx = (await TestReceiver.start()).reply('hang').always(200);
    cleanups.push(() => rx.close());
    const app = await stack.api.createApplication();
    const h = new DeliveryHelpers(stack.api, app.key, stack.databaseUrl);
    const ep = await h.endpoint(rx.url);

    const first = spawnWorker(stack.env, 'worker-1');
    cleanups.push(async () => first.kill('SIGKILL'));
    const evt = await h.emit();
    await waitFor('the first request to reach the receiver', async () => rx.requests.length === 1);
    first.kill('SIGKILL');
    await exited(first);

    const second = spawnWorker(stack.env, 'worker-2');
    cleanups.push(async () => {
      second.kill('SIGTERM');
      await exited(second);
    });
    await waitFor(
      'redelivery after the restart',
      async () => {
        const [d] = await sql(stack.databaseUrl, `SELECT status FROM deliveries WHERE event_id = $1`, [evt]);
        return d?.status === 'succeeded';
      },
      30_000,
    );
    assert.equal(rx.requests.length, 2);
    assert.equal(rx.requests[0].headers['webhook-id'], evt);
    assert.equal(rx.requests[1].headers['webhook-id'], evt);
    const attempts = await sql<{ number: number; outcome: string }>(
      stack.databaseUrl,
      `SELECT a.number, a.outcome FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = $1 ORDER BY a.number`,
      [evt],
    );
    assert.deepEqual(
      attempts.map((a) => [a.number, a.outcome]),
      [
        [1, 'interrupted'],
        [2, 'succeeded'],
      ],
    );
    assert.ok(ep.id);
  });

  it('SIGTERM: the worker finishes the attempt in flight, records it, and exits 0', async () => {
    const stack = await TestStack.start(
      'sigterm',
      { DELIVERY_ATTEMPT_TIMEOUT_MS: '10000' },
      { worker: false },
    );
    cleanups.push(() => stack.stop());
    const rx = await TestReceiver.start();
    cleanups.push(() => rx.close());
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    rx.reply('hang');
    const app = await stack.api.createApplication();
    const h = new DeliveryHelpers(stack.api, app.key, stack.databaseUrl);
    const ep = await h.endpoint(rx.url);
    const worker = spawnWorker(stack.env, 'worker-term');
    cleanups.push(async () => worker.kill('SIGKILL'));
    const evt = await h.emit();
    await waitFor('the request to reach the receiver', async () => rx.requests.length === 1);
    worker.kill('SIGTERM');
    // Answer the in-flight request only after SIGTERM has arrived.
    setTimeout(() => release(), 500);
    await released;
    rx.answerHanging(200);
    assert.equal(await exited(worker), 0);
    const rows = await sql(
      stack.databaseUrl,
      `SELECT d.status, a.outcome FROM deliveries d JOIN attempts a ON a.delivery_id = d.id WHERE d.event_id = $1`,
      [evt],
    );
    assert.deepEqual(rows, [{ status: 'succeeded', outcome: 'succeeded' }]);
    assert.ok(ep.id);
  });

  it('Redis FLUSHALL with 1,000 deliveries pending: all are delivered', async () => {
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.stop());
    // Retries 2 s apart: at the flush, the deliveries wait in Postgres for their retry (Redis holds none of them).
    const stack = await TestStack.start('flushall', {
      REDIS_URL: redis.url,
      RETRY_BASE_DELAY_MS: '2000',
      RETRY_MAX_DELAY_MS: '2000',
      WORKER_CONCURRENCY: '100',
      ENDPOINT_MAX_IN_FLIGHT: '100',
      // The receiver answers 503 to every first attempt: with the default threshold the circuit would open after
      // 10 and hold the other 900 back (as it should). This test is about Redis losing its data, not the circuit.
      CIRCUIT_FAILURE_THRESHOLD: '1000000',
    });
    cleanups.push(() => stack.stop());
    const rx = (await TestReceiver.start()).always(503);
    cleanups.push(() => rx.close());
    const app = await stack.api.createApplication();
    const h = new DeliveryHelpers(stack.api, app.key, stack.databaseUrl);
    const ep = await h.endpoint(rx.url);
    await h.emitMany(1000);
    await waitFor(
      'every delivery to have had a first attempt',
      async () => {
        const [r] = await sql<{ n: string }>(
          stack.databaseUrl,
          `SELECT count(*) AS n FROM deliveries WHERE endpoint_id = $1 AND attempt_count >= 1 AND in_flight_since IS NULL`,
          [ep.id],
        );
        return Number(r.n) === 1000;
      },
      60_000,
    );
    assert.equal(await redis.command('FLUSHALL'), 'OK');
    rx.always(200);
    const counts = await h.waitAllSettled(ep.id, 1000, 90_000);
    assert.deepEqual(counts, { succeeded: 1000 });
    const ids = new Set(
      rx.requests.filter((r) => r.headers['webhook-id']).map((r) => r.headers['webhook-id']),
    );
    assert.equal(ids.size, 1000);
  });

  it('two worker processes: no delivery is recorded as succeeded twice', async () => {
    const stack = await TestStack.start('two-workers', { WORKER_CONCURRENCY: '50' }, { worker: false });
    cleanups.push(() => stack.stop());
    const rx = (await TestReceiver.start()).always(200);
    cleanups.push(() => rx.close());
    const app = await stack.api.createApplication();
    const h = new DeliveryHelpers(stack.api, app.key, stack.databaseUrl);
    const ep = await h.endpoint(rx.url);
    const workers = [spawnWorker(stack.env, 'w1'), spawnWorker(stack.env, 'w2')];
    cleanups.push(async () => {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => exited(w)));
    });
    await h.emitMany(600);
    const counts = await h.waitAllSettled(ep.id, 600, 90_000);
    assert.deepEqual(counts, { succeeded: 600 });
    const doubles = await sql(
      stack.databaseUrl,
      `SELECT delivery_id, count(*) FROM attempts WHERE outcome = 'succeeded' AND endpoint_id = $1
       GROUP BY delivery_id HAVING count(*) > 1`,
      [ep.id],
    );
    assert.deepEqual(doubles, []);
    // Both processes took part (the relay and the jobs are shared).
    const [{ n }] = await sql<{ n: string }>(
      stack.databaseUrl,
      `SELECT count(*) AS n FROM attempts WHERE endpoint_id = $1`,
      [ep.id],
    );
    assert.equal(Number(n), 600);
  });

  it('recovering deliveries whose retry job still sits delayed in Redis brings that job forward', async () => {
    // Retries a minute apart: without the relay promoting the old delayed job, recovery would wait for it.
    const stack = await TestStack.start('promote', {
      RETRY_BASE_DELAY_MS: '60000',
      RETRY_MAX_DELAY_MS: '60000',
    });
    cleanups.push(() => stack.stop());
    const rx = (await TestReceiver.start()).reply(503).always(200);
    cleanups.push(() => rx.close());
    const app = await stack.api.createApplication();
    const h = new DeliveryHelpers(stack.api, app.key, stack.databaseUrl);
    const ep = await h.endpoint(rx.url);
    const since = new Date(Date.now() - 60_000).toISOString();
    const evt = await h.emit();
    await waitFor('the first attempt', async () => rx.requests.length === 1);
    await waitFor('the retry to be scheduled', async () => {
      const [d] = await sql(stack.databaseUrl, `SELECT in_flight_since FROM deliveries WHERE event_id = $1`, [
        evt,
      ]);
      return d && d.in_flight_since === null;
    });
    const off = await stack.api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: app.key,
      body: { disabled: true },
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const on = await stack.api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: app.key,
      body: { disabled: false },
    });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    const rec = await stack.api.request('POST', `/v1/endpoints/${ep.id}/recover`, {
      key: app.key,
      body: { since },
    });
    assert.equal(rec.status, 200, JSON.stringify(rec.body));
    assert.equal(rec.body.requeued, 1);
    const started = Date.now();
    await waitFor(
      'the recovered delivery to succeed',
      async () => {
        const [d] = await sql(stack.databaseUrl, `SELECT status FROM deliveries WHERE event_id = $1`, [evt]);
        return d?.status === 'succeeded';
      },
      20_000,
    );
    assert.ok(Date.now() - started < 20_000);
    assert.equal(rx.requests.length, 2);
  });
});
