import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { DeliveryHelpers } from './support/delivery-helpers';
import { TestReceiver } from './support/receiver';
import { sql, waitFor } from './support/scratch-db';
import { TestStack } from './support/stack';

describe('delivery guards: SSRF at connect time, per-endpoint fairness', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('with an empty allow-list, a name that resolves to loopback is blocked: destination_blocked, not retried, nothing sent', async () => {
    const stack = await TestStack.start('ssrf', { SSRF_ALLOW_CIDRS: '' });
    cleanups.push(() => stack.stop());
    const rx = (await TestReceiver.start()).always(200);
    cleanups.push(() => rx.close());
    const app = await stack.api.createApplication();
    const h = new DeliveryHelpers(stack.api, app.key, stack.databaseUrl);
    const port = new URL(rx.url).port;
    const ep = await h.endpoint(`http://localhost:${port}/hook`);
    const evt = await h.emit();
    const d = await waitFor('the delivery to fail', async () => {
      const [row] = await sql(
        stack.databaseUrl,
        `SELECT id, status, last_error FROM deliveries WHERE event_id = $1`,
        [evt],
      );
      return row?.status === 'failed' ? row : null;
    });
    const attempts = await sql(
      stack.databaseUrl,
      `SELECT outcome, error_class FROM attempts WHERE delivery_id = $1`,
      [d.id],
    );
    assert.deepEqual(attempts, [{ outcome: 'failed', error_class: 'destination_blocked' }]);
    assert.equal(rx.requests.length, 0);
    assert.ok(ep.id);
  });

  it('a port outside DELIVERY_ALLOWED_PORTS is refused before connecting, also for an endpoint created earlier', async () => {
    const rx = (await TestReceiver.start()).always(200);
    cleanups.push(() => rx.close());
    const port = Number(new URL(rx.url).port);
    // The endpoint was created while its port was allowed; then the setting narrowed to exclude it.
    const stack = await TestStack.start('ports', { DELIVERY_ALLOWED_PORTS: `80,443,${port + 1}-65535` });
    cleanups.push(() => stack.stop());
    // TestStack.start puts its settings in process.env (for the in-process API): the setting must not leak into
    // the stacks of the cases after this one (their random receiver ports would be refused).
    delete process.env.DELIVERY_ALLOWED_PORTS;
    const app = await stack.api.createApplication();
    const refused = await stack.api.request('POST', '/v1/endpoints', { key: app.key, body: { url: rx.url } });
    assert.equal(refused.status, 422);
    assert.match(JSON.stringify(refused.body), new RegExp(`port ${port} is not one deliveries may reach`));
    const h = new DeliveryHelpers(stack.api, app.key, stack.databaseUrl);
    const ep = await h.endpoint(`http://127.0.0.1:${port + 1}/`);
    await sql(stack.databaseUrl, `UPDATE endpoints SET url = $2 WHERE id = $1`, [ep.id, rx.url]);
    const evt = await h.emit();
    const d = await waitFor('the delivery to fail', async () => {
      const [row] = await sql(stack.databaseUrl, `SELECT id, status FROM deliveries WHERE event_id = $1`, [
        evt,
      ]);
      return row?.status === 'failed' ? row : null;
    });
    const attempts = await sql(
      stack.databaseUrl,
      `SELECT outcome, error_class, error_message FROM attempts WHERE delivery_id = $1`,
      [d.id],
    );
    assert.equal(attempts.length, 1);
    assert.deepEqual([attempts[0].outcome, attempts[0].error_class], ['failed', 'destination_blocked']);
    assert.match(attempts[0].error_message, new RegExp(`port ${port}`));
    assert.equal(rx.requests.length, 0, 'nothing reached the receiver');
  });

  it('an endpoint that never answers holds at most ENDPOINT_MAX_IN_FLIGHT requests, and a healthy endpoint keeps flowing', async () => {
    const stack = await TestStack.start('fairness', {
      WORKER_CONCURRENCY: '20',
      ENDPOINT_MAX_IN_FLIGHT: '4',
      DELIVERY_ATTEMPT_TIMEOUT_MS: '3000',
    });
    cleanups.push(() => stack.stop());
    // The black hole counts open requests and never answers.
    let open = 0;
    let maxOpen = 0;
    const sockets = new Set<import('node:net').Socket>();
    const hole: Server = createServer((req) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      req.on('close', () => open--);
    });
    hole.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => hole.close(r));
    });
    const healthy = (await TestReceiver.start()).always(200);
    cleanups.push(() => healthy.close());

    const app = await stack.api.createApplication();
    const h = new DeliveryHelpers(stack.api, app.key, stack.databaseUrl);
    const holeEp = await h.endpoint(`http://127.0.0.1:${(hole.address() as AddressInfo).port}/hook`, {
      eventTypes: ['to.hole'],
    });
    const okEp = await h.endpoint(healthy.url, { eventTypes: ['to.healthy'] });
    await h.emitMany(100, 'to.hole');
    await h.emitMany(200, 'to.healthy');
    const counts = await h.waitAllSettled(okEp.id, 200, 60_000);
    assert.deepEqual(counts, { succeeded: 200 });
    // The black hole's deliveries are still pending (each attempt waits out the 3 s deadline, 4 at a time).
    const holeCounts = await h.statusCounts(holeEp.id);
    assert.ok((holeCounts.pending ?? 0) > 50, JSON.stringify(holeCounts));
    assert.ok(maxOpen <= 4, `black hole saw ${maxOpen} concurrent requests`);
    assert.ok(maxOpen >= 1);
  });
});
