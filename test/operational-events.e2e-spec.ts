import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ReceivedRequest, TestReceiver, TestReceivers } from './support/receiver';
import { PrivateRedis } from './support/redis-server';
import { sql, waitFor } from './support/scratch-db';
import { Client } from 'pg';
import { exited, spawnWorker, TestStack } from './support/stack';

interface Received {
  type: string;
  timestamp: string;
  data: Record<string, any>;
  webhookId: string;
}

describe('operational events', () => {
  let stack: TestStack;
  const receivers = new TestReceivers();

  before(async () => {
    stack = await TestStack.start('operational', { ENDPOINT_RECOVERED_AFTER_FAILURES: '2' });
  });
  after(async () => {
    await stack.stop();
    await receivers.closeAll();
  });

  const receiver = () => receivers.start();

  /** An application with an operational endpoint (its receiver answers 200) and a helper set. */
  async function setup(opsBody: Record<string, unknown> = {}) {
    const app = await stack.api.createApplication('ops');
    const ops = (await receiver()).always(200);
    const opsEp = await endpoint(app.key, ops.url, { kind: 'operational', ...opsBody });
    return { app, ops, opsEp };
  }

  async function endpoint(
    key: string,
    url: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ id: string; secret: string; kind: string }> {
    const ep = await stack.api.createEndpoint(key, { url, ...extra });
    return { id: ep.id, secret: ep.secret, kind: ep.kind };
  }

  async function emit(key: string, eventType = 'order.created', payload: Record<string, unknown> = { n: 1 }) {
    const r = await stack.api.request('POST', '/v1/events', { key, body: { eventType, payload } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body as { id: string; deliveryCount: number };
  }

  /** Verifies the signature with standardwebhooks and returns the parsed body. */
  function verified(req: ReceivedRequest, secret: string): Received {
    const body = new Webhook(secret).verify(req.body, req.headers as Record<string, string>) as Received;
    return { ...body, webhookId: String(req.headers['webhook-id']) };
  }

  async function receivedOfType(rx: TestReceiver, secret: string, type: string, timeoutMs = 20_000) {
    return waitFor(
      `${type} at the operational endpoint`,
      async () => rx.requests.map((r) => verified(r, secret)).find((b) => b.type === type),
      timeoutMs,
    );
  }

  function types(rx: TestReceiver): string[] {
    return rx.requests.map((r) => (JSON.parse(r.body) as { type: string }).type);
  }

  it('endpoints have a kind: standard by default, operational on request, fixed after creation', async () => {
    const app = await stack.api.createApplication('kinds');
    const std = await endpoint(app.key, 'https://example.com/a');
    const ops = await endpoint(app.key, 'https://example.com/b', { kind: 'operational' });
    assert.equal(std.kind, 'standard');
    assert.equal(ops.kind, 'operational');
    assert.equal(
      (await stack.api.request('GET', `/v1/endpoints/${ops.id}`, { key: app.key })).body.kind,
      'operational',
    );
    const bad = await stack.api.request('POST', '/v1/endpoints', {
      key: app.key,
      body: { url: 'https://example.com/c', kind: 'audit' },
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(
      bad.body.fields.map((f: { field: string }) => f.field),
      ['kind'],
    );
    const patch = await stack.api.request('PATCH', `/v1/endpoints/${std.id}`, {
      key: app.key,
      body: { kind: 'operational' },
    });
    assert.equal(patch.status, 422, JSON.stringify(patch.body));
  });

  it('a 410 → the operational endpoint gets endpoint.disabled and delivery.failed, signed; standard ones never do', async () => {
    const { app, ops, opsEp } = await setup();
    const gone = (await receiver()).always(410);
    const goneEp = await endpoint(app.key, gone.url);
    const bystander = (await receiver()).always(200);
    await endpoint(app.key, bystander.url);

    const evt = await emit(app.key);
    assert.equal(evt.deliveryCount, 2, 'the application event goes to the two standard endpoints only');

    const disabled = await receivedOfType(ops, opsEp.secret, 'endpoint.disabled');
    assert.equal(disabled.data.endpointId, goneEp.id);
    assert.equal(disabled.data.url, gone.url);
    assert.match(disabled.data.reason, /410/);
    assert.ok(!Number.isNaN(Date.parse(disabled.data.at)));
    assert.match(disabled.webhookId, /^evt_[0-9a-f]{28}$/);

    const failed = await receivedOfType(ops, opsEp.secret, 'delivery.failed');
    assert.equal(failed.data.eventId, evt.id);
    assert.equal(failed.data.endpointId, goneEp.id);
    assert.equal(failed.data.lastStatusCode, 410);
    assert.equal(failed.data.attempts, 1);
    assert.match(failed.data.deliveryId, /^dlv_/);

    // The operational event is an event of the application, with its delivery like any other.
    const shown = await stack.api.request('GET', `/v1/events/${disabled.webhookId}`, { key: app.key });
    assert.equal(shown.status, 200);
    assert.equal(shown.body.eventType, 'endpoint.disabled');
    assert.deepEqual(
      shown.body.deliveries.map((d: { endpointId: string }) => d.endpointId),
      [opsEp.id],
    );

    await waitFor('the bystander delivery', async () => bystander.requests.length >= 1);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(types(bystander), ['order.created'], 'a standard endpoint gets no operational event');
    assert.ok(!types(ops).includes('order.created'), 'an operational endpoint gets no application event');
    assert.equal(types(ops).filter((t) => t === 'endpoint.disabled').length, 1);
  });

  it('a 400 → delivery.failed with the delivery, event, endpoint, last error and attempts', async () => {
    const { app, ops, opsEp } = await setup({ eventTypes: ['delivery.failed'] });
    const rejecting = (await receiver()).always(400);
    const ep = await endpoint(app.key, rejecting.url);
    const evt = await emit(app.key, 'invoice.paid', { invoice: 7 });
    const failed = await receivedOfType(ops, opsEp.secret, 'delivery.failed');
    const [delivery] = await sql<{ id: string }>(
      stack.databaseUrl,
      'SELECT id FROM deliveries WHERE event_id = $1 AND endpoint_id = $2',
      [evt.id, ep.id],
    );
    assert.deepEqual(
      { ...failed.data, at: undefined },
      {
        deliveryId: delivery.id,
        eventId: evt.id,
        eventType: 'invoice.paid',
        endpointId: ep.id,
        url: rejecting.url,
        lastError: 'http_400',
        lastStatusCode: 400,
        attempts: 1,
        at: undefined,
      },
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(types(ops), ['delivery.failed']);
  });

  it('past its deadline → delivery.failed (deadline_exceeded) with the attempts made', async () => {
    const { app, ops, opsEp } = await setup();
    const down = (await receiver()).always(503);
    const ep = await endpoint(app.key, down.url);
    const evt = await emit(app.key);
    await waitFor('the first attempt', async () => down.requests.length >= 1);
    await sql(stack.databaseUrl, 'UPDATE deliveries SET deadline_at = now() WHERE event_id = $1', [evt.id]);
    const failed = await receivedOfType(ops, opsEp.secret, 'delivery.failed');
    assert.equal(failed.data.eventId, evt.id);
    assert.equal(failed.data.endpointId, ep.id);
    assert.match(failed.data.lastError, /deadline_exceeded/);
    assert.ok(failed.data.attempts >= 1);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(types(ops), ['delivery.failed'], 'exactly one delivery.failed');
  });

  it('500, 500, 200 → endpoint.recovered (failure streak of at least ENDPOINT_RECOVERED_AFTER_FAILURES)', async () => {
    const { app, ops, opsEp } = await setup();
    const flaky = (await receiver()).reply(500, 500, 200).always(200);
    const ep = await endpoint(app.key, flaky.url);
    await emit(app.key);
    const recovered = await receivedOfType(ops, opsEp.secret, 'endpoint.recovered');
    assert.equal(recovered.data.endpointId, ep.id);
    assert.equal(recovered.data.url, flaky.url);
    assert.equal(recovered.data.reason, 'failure_streak');
    assert.equal(recovered.data.failedAttempts, 2);

    // The streak starts again: the next success announces nothing, and a single failure is no streak.
    await emit(app.key);
    flaky.reply(503, 200);
    await emit(app.key);
    await waitFor('six requests', async () => flaky.requests.length >= 6);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(types(ops), ['endpoint.recovered']);
  });

  it('the failure streak is kept in Postgres: 500, 500, Redis wiped (FLUSHALL), 200 → endpoint.recovered', async () => {
    const redis = await PrivateRedis.start();
    const own = await TestStack.start('ops_flush', {
      REDIS_URL: redis.url,
      ENDPOINT_RECOVERED_AFTER_FAILURES: '2',
      RETRY_BASE_DELAY_MS: '1500',
      RETRY_MAX_DELAY_MS: '1500',
    });
    try {
      const app = await own.api.createApplication('ops flush');
      const ops = (await receiver()).always(200);
      const opsEp = await own.api.createEndpoint(app.key, { url: ops.url, kind: 'operational' });
      const flaky = (await receiver()).always(500);
      const ep = await own.api.createEndpoint(app.key, { url: flaky.url });
      const r = await own.api.request('POST', '/v1/events', {
        key: app.key,
        body: { eventType: 'order.created', payload: { n: 1 } },
      });
      assert.equal(r.status, 202);
      await waitFor('two failures on record', async () => {
        const [row] = await sql<{ failure_streak: number }>(
          own.databaseUrl,
          `SELECT failure_streak FROM endpoints WHERE id = $1`,
          [ep.id],
        );
        return row.failure_streak >= 2;
      });
      assert.equal(await redis.command('FLUSHALL'), 'OK');
      flaky.always(200);
      const recovered = await receivedOfType(ops, opsEp.secret, 'endpoint.recovered', 30_000);
      assert.equal(recovered.data.endpointId, ep.id);
      assert.equal(recovered.data.reason, 'failure_streak');
      assert.ok(recovered.data.failedAttempts >= 2, JSON.stringify(recovered.data));
    } finally {
      await own.stop();
      await redis.stop();
    }
  });

  it('a worker SIGKILLed the moment a delivery ends failed: delivery.failed is already in Postgres with it', async () => {
    const own = await TestStack.start('ops_kill', {}, { worker: false });
    const db = new Client({ connectionString: own.databaseUrl });
    await db.connect();
    const worker = spawnWorker(own.env, 'ops-kill-worker');
    try {
      const app = await own.api.createApplication('ops kill');
      const ops = (await receiver()).always(200);
      await own.api.createEndpoint(app.key, { url: ops.url, kind: 'operational' });
      const bad = (await receiver()).always(400);
      await own.api.createEndpoint(app.key, { url: bad.url });
      const r = await own.api.request('POST', '/v1/events', {
        key: app.key,
        body: { eventType: 'order.created', payload: { n: 1 } },
      });
      assert.equal(r.status, 202);
      const eventId = (r.body as { id: string }).id;
      // Poll as fast as Postgres answers; kill the worker as soon as the failure is visible.
      let deliveryId: string | null = null;
      const deadline = Date.now() + 30_000;
      while (!deliveryId && Date.now() < deadline) {
        const q = await db.query<{ id: string }>(
          `SELECT id FROM deliveries WHERE event_id = $1 AND status = 'failed'`,
          [eventId],
        );
        deliveryId = q.rows[0]?.id ?? null;
      }
      worker.kill('SIGKILL');
      await exited(worker);
      assert.ok(deliveryId, 'the delivery ended failed');
      const events = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events
         WHERE application_id = $1 AND event_type = 'delivery.failed' AND payload::jsonb ->> 'deliveryId' = $2`,
        [app.id, deliveryId],
      );
      assert.equal(events.rows[0].n, 1, 'written in the transaction that failed the delivery');
    } finally {
      worker.kill('SIGKILL');
      await db.end();
      await own.stop();
    }
  });

  it('disabled by the application → endpoint.disabled; re-enabled → endpoint.recovered on the next success', async () => {
    const { app, ops, opsEp } = await setup();
    const rx = (await receiver()).always(200);
    const ep = await endpoint(app.key, rx.url);
    const off = await stack.api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: app.key,
      body: { disabled: true, disabledReason: 'maintenance' },
    });
    assert.equal(off.status, 200);
    const disabled = await receivedOfType(ops, opsEp.secret, 'endpoint.disabled');
    assert.equal(disabled.data.reason, 'maintenance');
    // Disabling again is no change: no second event.
    await stack.api.request('PATCH', `/v1/endpoints/${ep.id}`, { key: app.key, body: { disabled: true } });
    const on = await stack.api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: app.key,
      body: { disabled: false },
    });
    assert.equal(on.status, 200);
    await emit(app.key);
    const recovered = await receivedOfType(ops, opsEp.secret, 'endpoint.recovered');
    assert.equal(recovered.data.endpointId, ep.id);
    assert.equal(recovered.data.reason, 're_enabled');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(types(ops).sort(), ['endpoint.disabled', 'endpoint.recovered']);
  });

  it('never about operational endpoints: a failing or gone operational endpoint causes no further events', async () => {
    const app = await stack.api.createApplication('no loops');
    const goneOps = (await receiver()).always(410);
    const goneOpsEp = await endpoint(app.key, goneOps.url, { kind: 'operational' });
    const badOps = (await receiver()).always(400);
    await endpoint(app.key, badOps.url, { kind: 'operational' });
    const goodOps = (await receiver()).always(200);
    const goodOpsEp = await endpoint(app.key, goodOps.url, { kind: 'operational' });
    const rejecting = (await receiver()).always(400);
    await endpoint(app.key, rejecting.url);

    await emit(app.key);
    await receivedOfType(goodOps, goodOpsEp.secret, 'delivery.failed');
    await waitFor('the failing operational endpoints to be tried', async () =>
      goneOps.requests.length >= 1 && badOps.requests.length >= 1 ? true : null,
    );
    await waitFor('the gone operational endpoint to be disabled', async () => {
      const r = await stack.api.request('GET', `/v1/endpoints/${goneOpsEp.id}`, { key: app.key });
      return r.body.disabled === true;
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(types(goodOps), ['delivery.failed'], 'one event: about the standard endpoint only');
    assert.deepEqual(types(badOps), ['delivery.failed']);
    const [{ n }] = await sql<{ n: string }>(
      stack.databaseUrl,
      'SELECT count(*) AS n FROM events WHERE application_id = $1',
      [app.id],
    );
    assert.equal(Number(n), 2, 'the application event and one delivery.failed');
  });

  it('application events never reach operational endpoints, whatever their type; no operational endpoint → no event', async () => {
    const { app, ops } = await setup();
    const std = (await receiver()).always(200);
    await endpoint(app.key, std.url);
    const own = await emit(app.key, 'delivery.failed', { mine: true });
    assert.equal(own.deliveryCount, 1);
    await waitFor('the standard delivery', async () => std.requests.length >= 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(ops.requests.length, 0);

    const quiet = await stack.api.createApplication('no operational endpoint');
    const rejecting = (await receiver()).always(400);
    const ep = await endpoint(quiet.key, rejecting.url);
    const evt = await emit(quiet.key);
    await waitFor('the delivery to fail', async () => {
      const [d] = await sql<{ status: string }>(
        stack.databaseUrl,
        'SELECT status FROM deliveries WHERE event_id = $1 AND endpoint_id = $2',
        [evt.id, ep.id],
      );
      return d?.status === 'failed';
    });
    await new Promise((r) => setTimeout(r, 500));
    const events = await sql<{ event_type: string }>(
      stack.databaseUrl,
      'SELECT event_type FROM events WHERE application_id = $1',
      [quiet.id],
    );
    assert.deepEqual(
      events.map((e) => e.event_type),
      ['order.created'],
    );
  });
});
