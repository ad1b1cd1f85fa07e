import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { DeliveryHelpers } from './support/delivery-helpers';
import { TestReceiver } from './support/receiver';
import { exited, spawnWorker, TestStack } from './support/stack';

/**
 * The dispatcher's limits hold across worker processes: an endpoint's maxInFlight and its rate limit are global,
 * not per process (two workers used to mean twice the cap).
 */
describe('dispatch: per-endpoint limits across worker processes', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  async function twoWorkers(label: string) {
    const stack = await TestStack.start(label, { WORKER_CONCURRENCY: '50' }, { worker: false });
    cleanups.push(() => stack.stop());
    const workers = [spawnWorker(stack.env, `${label}-w1`), spawnWorker(stack.env, `${label}-w2`)];
    cleanups.push(async () => {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => exited(w)));
    });
    const app = await stack.api.createApplication();
    return { stack, h: new DeliveryHelpers(stack.api, app.key, stack.databaseUrl) };
  }

  it('two worker processes, maxInFlight 5: the receiver never sees more than 5 requests at once', async () => {
    const { h } = await twoWorkers('global-cap');
    // Answers each request after 30 ms, counting the requests open at once.
    let open = 0;
    let maxOpen = 0;
    const rx: Server = createServer((req, res) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      req.resume();
      setTimeout(() => {
        open--;
        res.end('ok');
      }, 30);
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => rx.close(r)));
    const ep = await h.endpoint(`http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook`, {
      maxInFlight: 5,
    });
    await h.emitMany(300);
    assert.deepEqual(await h.waitAllSettled(ep.id, 300, 90_000), { succeeded: 300 });
    assert.ok(maxOpen <= 5, `${maxOpen} requests open at once`);
    assert.ok(maxOpen >= 2, `${maxOpen} requests open at once: the endpoint's credits were used`);
  });

  it('two worker processes, rateLimitPerSecond 5: 25 deliveries are spread over seconds, not sent at once', async () => {
    const { h } = await twoWorkers('global-rate');
    const rx = (await TestReceiver.start()).always(200);
    cleanups.push(() => rx.close());
    const ep = await h.endpoint(rx.url, { rateLimitPerSecond: 5 });
    await h.emitMany(25);
    assert.deepEqual(await h.waitAllSettled(ep.id, 25, 60_000), { succeeded: 25 });
    const at = rx.requests.map((r) => r.at).sort((a, b) => a - b);
    assert.equal(at.length, 25);
    // A full bucket (5) is released at once, the other 20 at 5 a second: released over ≥ 4 s, with one limit for
    // both workers (a per-process limit would halve it). Arrivals span less by the first burst's delay on its way
    // (new processes, cold caches), hence 3 s; without the limit all 25 arrive within a few tens of milliseconds.
    assert.ok(at[24] - at[0] >= 3000, `25 arrivals in ${at[24] - at[0]} ms`);
  });
});
