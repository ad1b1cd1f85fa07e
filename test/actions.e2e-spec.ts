import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY } from './support/api-harness';
import { TestReceivers } from './support/receiver';
import { sql, waitFor } from './support/scratch-db';
import { Seeder } from './support/seed';
import { TestStack } from './support/stack';

const DEADLINE_SECONDS = 7200;

interface DeliveryDb {
  id: string;
  status: string;
  attempt_count: number;
  next_attempt_at: Date | null;
  deadline_at: Date;
  completed_at: Date | null;
  last_error: string | null;
  in_flight_since: Date | null;
}

describe('delivery actions without a worker: redeliver, recover, test event', () => {
  let stack: TestStack;
  let seed: Seeder;
  let app: { id: string; key: string };
  let other: { id: string; key: string };
  let supportKey: string;

  before(async () => {
    stack = await TestStack.start(
      'actions',
      { RECOVER_MAX_DELIVERIES: '3', DELIVERY_DEADLINE_SECONDS: String(DEADLINE_SECONDS) },
      { worker: false },
    );
    seed = await Seeder.connect(stack.databaseUrl);
    app = await stack.api.createApplication('actions');
    other = await stack.api.createApplication('other');
    supportKey = (
      await stack.api.request('POST', '/v1/support-keys', { key: ADMIN_KEY, body: { name: 's' } })
    ).body.key;
  });
  after(async () => {
    await seed?.close();
    await stack?.stop();
  });

  async function endpoint(key = app.key, extra: Record<string, unknown> = {}): Promise<string> {
    return (await stack.api.createEndpoint(key, { url: 'https://receiver.example.com/hook', ...extra })).id;
  }
  async function delivery(id: string): Promise<DeliveryDb> {
    const [d] = await sql<DeliveryDb>(stack.databaseUrl, 'SELECT * FROM deliveries WHERE id = $1', [id]);
    return d;
  }
  /** 1 when the dispatcher may release the delivery now (pending, due, not released), else 0. */
  async function releasable(deliveryId: string): Promise<number> {
    const [r] = await sql<{ n: number }>(
      stack.databaseUrl,
      `SELECT count(*)::int AS n FROM deliveries
       WHERE id = $1 AND status = 'pending' AND released_at IS NULL AND next_attempt_at <= now()`,
      [deliveryId],
    );
    return r.n;
  }

  it('redelivers a failed or succeeded delivery in one go: pending, due now, fresh deadline, releasable', async () => {
    const ep = await endpoint();
    const e = await seed.event(app.id, { createdAt: new Date(Date.now() - 3 * 86_400_000) });
    const failed = await seed.delivery(e, ep, { status: 'failed', attemptCount: 4 });
    const e2 = await seed.event(app.id);
    const succeeded = await seed.delivery(e2, ep, { status: 'succeeded', attemptCount: 1 });
    await sql(
      stack.databaseUrl,
      `UPDATE deliveries SET in_flight_since = now() - interval '1 hour' WHERE id = $1`,
      [failed.id],
    );

    for (const [d, count, key] of [
      [failed, 4, app.key],
      [succeeded, 1, supportKey],
    ] as const) {
      const before = Date.now();
      const r = await stack.api.request('POST', `/v1/deliveries/${d.id}/redeliver`, { key });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, 'pending');
      assert.equal(r.body.attemptCount, count);
      assert.equal(r.body.completedAt, null);
      assert.equal(r.body.lastError, null);
      assert.equal(r.body.inFlightSince, null);
      const row = await delivery(d.id);
      assert.equal(row.status, 'pending');
      assert.equal(row.attempt_count, count, 'attempt numbers continue');
      assert.equal(row.completed_at, null);
      assert.equal(row.last_error, null);
      assert.equal(row.in_flight_since, null);
      assert.ok(Math.abs(row.next_attempt_at!.getTime() - before) < 5000);
      assert.ok(Math.abs(row.deadline_at.getTime() - (before + DEADLINE_SECONDS * 1000)) < 5000);
      assert.equal(await releasable(d.id), 1);
    }

    // Now pending: 409, and nothing more written.
    const again = await stack.api.request('POST', `/v1/deliveries/${failed.id}/redeliver`, { key: app.key });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.error, 'conflict');
    assert.equal(await releasable(failed.id), 1);
  });

  it('refuses to redeliver pending deliveries (409), unknown or foreign ones (404), to disabled endpoints (409)', async () => {
    const ep = await endpoint();
    const e = await seed.event(app.id);
    const pending = await seed.delivery(e, ep, { status: 'pending' });
    assert.equal(
      (await stack.api.request('POST', `/v1/deliveries/${pending.id}/redeliver`, { key: app.key })).status,
      409,
    );

    const failed = await seed.delivery(await seed.event(app.id), ep, { status: 'failed' });
    for (const id of [failed.id, 'dlv_00000000000000000000000000ff', 'x']) {
      const r = await stack.api.request('POST', `/v1/deliveries/${id}/redeliver`, { key: other.key });
      assert.equal(r.status, 404, id);
    }
    assert.equal((await delivery(failed.id)).status, 'failed');

    const patched = await stack.api.request('PATCH', `/v1/endpoints/${ep}`, {
      key: app.key,
      body: { disabled: true },
    });
    assert.equal(patched.status, 200);
    const r = await stack.api.request('POST', `/v1/deliveries/${failed.id}/redeliver`, { key: ADMIN_KEY });
    assert.equal(r.status, 409);
    assert.match(r.body.message, /disabled/);
    assert.equal((await delivery(failed.id)).status, 'failed');
    assert.equal(await releasable(failed.id), 0);
  });

  it('recovers the failed deliveries of one endpoint created in the window, and nothing else', async () => {
    const ep = await endpoint();
    const ep2 = await endpoint();
    const now = Date.now();
    const at = (hoursAgo: number) => new Date(now - hoursAgo * 3_600_000);
    const mk = async (endpointId: string, hoursAgo: number, status: 'failed' | 'succeeded' | 'pending') =>
      seed.delivery(await seed.event(app.id, { createdAt: at(hoursAgo) }), endpointId, { status });
    const inWindow = [await mk(ep, 5, 'failed'), await mk(ep, 3, 'failed')];
    const untouched = [
      await mk(ep, 10, 'failed'), // before since
      await mk(ep, 1, 'failed'), // at/after until
      await mk(ep, 4, 'succeeded'),
      await mk(ep, 4, 'pending'),
      await mk(ep2, 4, 'failed'), // another endpoint
    ];
    const before = await Promise.all(untouched.map((d) => delivery(d.id)));
    const r = await stack.api.request('POST', `/v1/endpoints/${ep}/recover`, {
      key: supportKey,
      body: { since: at(6).toISOString(), until: at(2).toISOString() },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { requeued: 2, capped: false, limit: 3, resumeFrom: null });
    for (const d of inWindow) {
      assert.equal((await delivery(d.id)).status, 'pending');
      assert.equal(await releasable(d.id), 1);
    }
    assert.deepEqual(await Promise.all(untouched.map((d) => delivery(d.id))), before);
    for (const d of untouched) assert.equal(await releasable(d.id), 0);

    // Nothing left to recover in that window.
    const again = await stack.api.request('POST', `/v1/endpoints/${ep}/recover`, {
      key: app.key,
      body: { since: at(6).toISOString(), until: at(2).toISOString() },
    });
    assert.deepEqual(again.body, { requeued: 0, capped: false, limit: 3, resumeFrom: null });

    // `until` defaults to now: picks up the one an hour ago and the one 10 hours ago with since = 11 h.
    const open = await stack.api.request('POST', `/v1/endpoints/${ep}/recover`, {
      key: app.key,
      body: { since: at(11).toISOString() },
    });
    assert.equal(open.body.requeued, 2);
  });

  it('caps one recover call at RECOVER_MAX_DELIVERIES, oldest first, and says where to resume', async () => {
    const ep = await endpoint();
    const now = Date.now();
    const ds = [];
    for (let i = 5; i >= 1; i--) {
      ds.push(
        await seed.delivery(await seed.event(app.id, { createdAt: new Date(now - i * 60_000) }), ep, {
          status: 'failed',
        }),
      );
    }
    const since = new Date(now - 3_600_000).toISOString();
    const first = await stack.api.request('POST', `/v1/endpoints/${ep}/recover`, {
      key: app.key,
      body: { since },
    });
    assert.deepEqual(first.body, {
      requeued: 3,
      capped: true,
      limit: 3,
      resumeFrom: ds[3].createdAt.toISOString(),
    });
    assert.deepEqual(await Promise.all(ds.map(async (d) => (await delivery(d.id)).status)), [
      'pending',
      'pending',
      'pending',
      'failed',
      'failed',
    ]);
    const rest = await stack.api.request('POST', `/v1/endpoints/${ep}/recover`, {
      key: app.key,
      body: { since: first.body.resumeFrom },
    });
    assert.deepEqual(rest.body, { requeued: 2, capped: false, limit: 3, resumeFrom: null });
  });

  it('refuses to recover for disabled or deleted endpoints (409), foreign ones (404), bad windows (422)', async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const disabled = await endpoint(app.key, { disabled: true });
    const deleted = await endpoint();
    assert.equal(
      (await stack.api.request('DELETE', `/v1/endpoints/${deleted}`, { key: app.key })).status,
      204,
    );
    for (const id of [disabled, deleted]) {
      const r = await stack.api.request('POST', `/v1/endpoints/${id}/recover`, {
        key: app.key,
        body: { since },
      });
      assert.equal(r.status, 409, JSON.stringify(r.body));
    }
    const mine = await endpoint();
    assert.equal(
      (await stack.api.request('POST', `/v1/endpoints/${mine}/recover`, { key: other.key, body: { since } }))
        .status,
      404,
    );
    const bad: [unknown, string[]][] = [
      [{}, ['since']],
      [{ since: 'yesterday' }, ['since']],
      [{ since, until: since }, ['until']],
      [{ since, until: '2020-01-01' }, ['until']],
      [{ since, extra: 1 }, ['extra']],
    ];
    for (const [body, fields] of bad) {
      const r = await stack.api.request('POST', `/v1/endpoints/${mine}/recover`, { key: app.key, body });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.deepEqual([...new Set(r.body.fields.map((f: { field: string }) => f.field))], fields);
    }
  });

  it('sends a tern.test event to that endpoint only, whatever its event types, released like any event', async () => {
    const typed = await endpoint(app.key, { eventTypes: ['order.created'] });
    const everything = await endpoint(app.key);
    const r = await stack.api.request('POST', `/v1/endpoints/${typed}/test`, { key: app.key });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const { eventId, deliveryId } = r.body;
    const [ev] = await sql(stack.databaseUrl, 'SELECT * FROM events WHERE id = $1', [eventId]);
    assert.equal(ev.event_type, 'tern.test');
    assert.equal(ev.application_id, app.id);
    const payload = JSON.parse(ev.payload as string) as { sentAt: string }; // stored as the text delivered
    assert.deepEqual(Object.keys(payload).sort(), ['message', 'sentAt']);
    assert.ok(!Number.isNaN(Date.parse(payload.sentAt)));
    const ds = await sql(
      stack.databaseUrl,
      'SELECT id, endpoint_id, status FROM deliveries WHERE event_id = $1',
      [eventId],
    );
    assert.deepEqual(ds, [{ id: deliveryId, endpoint_id: typed, status: 'pending' }]);
    assert.equal(await releasable(deliveryId), 1);
    assert.notEqual(typed, everything);

    // The event shows in the application's event log with its one delivery.
    const got = await stack.api.request('GET', `/v1/events/${eventId}`, { key: app.key });
    assert.equal(got.status, 200);
    assert.equal(got.body.deliveries.length, 1);

    // Disabled endpoint: 409; another application's: 404; support keys: 403; admin: allowed.
    const disabled = await endpoint(app.key, { disabled: true });
    assert.equal(
      (await stack.api.request('POST', `/v1/endpoints/${disabled}/test`, { key: app.key })).status,
      409,
    );
    assert.equal(
      (await stack.api.request('POST', `/v1/endpoints/${typed}/test`, { key: other.key })).status,
      404,
    );
    assert.equal(
      (await stack.api.request('POST', `/v1/endpoints/${typed}/test`, { key: supportKey })).status,
      403,
    );
    assert.equal(
      (await stack.api.request('POST', `/v1/endpoints/${typed}/test`, { key: ADMIN_KEY })).status,
      202,
    );
  });
});

describe('delivery actions with a real worker', () => {
  let stack: TestStack;
  let key: string;
  const receivers = new TestReceivers();

  before(async () => {
    stack = await TestStack.start('actions_worker');
    key = (await stack.api.createApplication('actions worker')).key;
  });
  after(async () => {
    await stack?.stop();
    await receivers.closeAll();
  });

  const receiver = () => receivers.start();
  async function endpoint(url: string, extra: Record<string, unknown> = {}): Promise<string> {
    return (await stack.api.createEndpoint(key, { url, ...extra })).id;
  }
  async function settled(deliveryId: string): Promise<any> {
    return waitFor(
      `delivery ${deliveryId} to settle`,
      async () => {
        const r = await stack.api.request('GET', `/v1/deliveries/${deliveryId}`, { key });
        return r.body.status !== 'pending' ? r.body : null;
      },
      20_000,
    );
  }

  it('a delivery failed on 400 succeeds after redeliver: attempt N+1, same webhook-id', async () => {
    const rec = await receiver();
    rec.always(400);
    const ep = await endpoint(rec.url);
    const ev = await stack.api.request('POST', '/v1/events', {
      key,
      body: { eventType: 'order.created', payload: { n: 1 } },
    });
    assert.equal(ev.status, 202);
    const list = await stack.api.request('GET', `/v1/deliveries?eventId=${ev.body.id}`, { key });
    const deliveryId: string = list.body.data[0].id;
    const failed = await settled(deliveryId);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts.length, 1);
    assert.equal(failed.attempts[0].responseStatus, 400);
    const n = failed.attemptCount as number;

    rec.always(200);
    const r = await stack.api.request('POST', `/v1/deliveries/${deliveryId}/redeliver`, { key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const done = await settled(deliveryId);
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(
      done.attempts.map((a: any) => [a.number, a.outcome, a.responseStatus]),
      [
        [1, 'failed', 400],
        [n + 1, 'succeeded', 200],
      ],
    );
    assert.equal(rec.requests.length, 2);
    assert.equal(rec.requests[0].headers['webhook-id'], ev.body.id);
    assert.equal(rec.requests[1].headers['webhook-id'], ev.body.id);
    assert.equal(rec.requests[0].body, rec.requests[1].body);

    const stats = await stack.api.request('GET', `/v1/endpoints/${ep}/stats`, { key });
    assert.equal(stats.body.windows.hour.attempts, 2);
    assert.equal(stats.body.windows.hour.succeeded, 1);
    assert.equal(stats.body.failureStreak, 0);
    assert.equal(stats.body.lastError.status, 400);
  });

  it('recover re-sends the failed deliveries of the window', async () => {
    const rec = await receiver();
    rec.always(422);
    const ep = await endpoint(rec.url);
    const since = new Date(Date.now() - 1000).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ev = await stack.api.request('POST', '/v1/events', {
        key,
        body: { eventType: 't', payload: { i } },
      });
      ids.push(ev.body.id);
    }
    await waitFor('3 failed deliveries', async () => {
      const r = await stack.api.request('GET', `/v1/deliveries?endpointId=${ep}&status=failed`, { key });
      return r.body.data.length === 3;
    });
    rec.always(204);
    const r = await stack.api.request('POST', `/v1/endpoints/${ep}/recover`, { key, body: { since } });
    assert.equal(r.body.requeued, 3);
    await waitFor('3 succeeded deliveries', async () => {
      const s = await stack.api.request('GET', `/v1/deliveries?endpointId=${ep}&status=succeeded`, { key });
      return s.body.data.length === 3;
    });
    assert.deepEqual(rec.requests.map((q) => q.headers['webhook-id']).sort(), [...ids, ...ids].sort());
  });

  it('a test event reaches only that endpoint, even though it subscribes to other types', async () => {
    const target = await receiver();
    const bystander = await receiver();
    const ep = await endpoint(target.url, { eventTypes: ['invoice.paid'] });
    await endpoint(bystander.url);
    const r = await stack.api.request('POST', `/v1/endpoints/${ep}/test`, { key });
    assert.equal(r.status, 202);
    const done = await settled(r.body.deliveryId);
    assert.equal(done.status, 'succeeded');
    assert.equal(target.requests.length, 1);
    const body = JSON.parse(target.requests[0].body);
    assert.equal(body.type, 'tern.test');
    assert.deepEqual(Object.keys(body.data).sort(), ['message', 'sentAt']);
    assert.equal(target.requests[0].headers['webhook-id'], r.body.eventId);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(bystander.requests.length, 0);
  });
});
