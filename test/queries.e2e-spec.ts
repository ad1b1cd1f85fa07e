import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeliveriesQueryService } from '@tern/core';
import { ADMIN_KEY, fieldsOf, JsonResponse } from './support/api-harness';
import { newestFirst, SeededAttempt, SeededDelivery, SeededEvent, Seeder } from './support/seed';
import { TestStack } from './support/stack';

// GET /v1/deliveries, /v1/deliveries/:id, /v1/attempts and /v1/endpoints/:id/stats on data written straight into
// a scratch database (no worker), so every expected list and figure is known exactly.

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('delivery and attempt queries', () => {
  let stack: TestStack;
  let seed: Seeder;
  let appA: { id: string; key: string };
  let appB: { id: string; key: string };
  const ep: Record<'a1' | 'a2' | 'b1', string> = { a1: '', a2: '', b1: '' };
  const events: SeededEvent[] = [];
  const deliveries: SeededDelivery[] = [];
  const attempts: SeededAttempt[] = [];
  let supportKey: string;

  before(async () => {
    stack = await TestStack.start('queries', {}, { worker: false });
    seed = await Seeder.connect(stack.databaseUrl);
    appA = await stack.api.createApplication('A');
    appB = await stack.api.createApplication('B');
    const endpoint = async (key: string, url: string) => {
      const r = await stack.api.request('POST', '/v1/endpoints', { key, body: { url } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.id as string;
    };
    ep.a1 = await endpoint(appA.key, 'https://a1.example.com/hook');
    ep.a2 = await endpoint(appA.key, 'https://a2.example.com/hook');
    ep.b1 = await endpoint(appB.key, 'https://b1.example.com/hook');
    const sk = await stack.api.request('POST', '/v1/support-keys', { key: ADMIN_KEY, body: { name: 'q' } });
    assert.equal(sk.status, 201);
    supportKey = sk.body.key;

    // 12 events of A (3 types) and 4 of B over the last day; each A event goes to both A endpoints at the same
    // instant (ties on createdAt, broken by id), each B event to B's endpoint.
    const t0 = Date.now() - 26 * HOUR;
    const types = ['order.created', 'order.paid', 'invoice.sent'];
    const statuses = ['pending', 'succeeded', 'failed'] as const;
    const outcomes = ['succeeded', 'retrying', 'failed', 'interrupted'] as const;
    let n = 0;
    for (let i = 0; i < 16; i++) {
      const isA = i < 12;
      const app = isA ? appA.id : appB.id;
      const createdAt = new Date(t0 + i * HOUR);
      const e = await seed.event(app, { eventType: types[i % 3], createdAt, payload: { i } });
      events.push(e);
      for (const endpointId of isA ? [ep.a1, ep.a2] : [ep.b1]) {
        const d = await seed.delivery(e, endpointId, { status: statuses[n % 3], createdAt });
        deliveries.push(d);
        // 0 to 3 attempts, a minute apart; the second attempt of every other delivery starts at the same
        // instant as another delivery's (ties on startedAt).
        for (let k = 1; k <= n % 4; k++) {
          const outcome = outcomes[(n + k) % 4];
          attempts.push(
            await seed.attempt(d, {
              number: k,
              outcome,
              startedAt: new Date(createdAt.getTime() + (k === 2 && n % 2 === 0 ? MIN : k * MIN)),
              responseStatus:
                outcome === 'succeeded' ? 200 : outcome === 'interrupted' ? null : 500 + (k % 2),
              durationMs: outcome === 'interrupted' ? null : 10 * (n + k),
            }),
          );
        }
        n++;
      }
    }
  });

  after(async () => {
    await seed?.close();
    await stack?.stop();
  });

  /** Follows nextCursor to the end; asserts no id comes twice and every page but the last is full. */
  async function all(path: string, key: string, limit = 3): Promise<any[]> {
    const out: any[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const url: string = `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r: JsonResponse = await stack.api.request('GET', url, { key });
      assert.equal(r.status, 200, `${url}: ${JSON.stringify(r.body)}`);
      out.push(...r.body.data);
      cursor = r.body.nextCursor;
      if (!cursor) break;
      assert.equal(r.body.data.length, limit);
    }
    const ids = out.map((x) => x.id);
    assert.equal(new Set(ids).size, ids.length, `duplicates in ${path}`);
    return out;
  }

  const dIds = (rows: SeededDelivery[]) => newestFirst(rows, (d) => d.createdAt).map((d) => d.id);
  const aIds = (rows: SeededAttempt[]) => newestFirst(rows, (a) => a.startedAt).map((a) => a.id);

  it('lists deliveries by every filter, newest first, paging without duplicates or gaps', async () => {
    const A = deliveries.filter((d) => d.applicationId === appA.id);
    const midA = events[4].createdAt;
    const cases: [string, SeededDelivery[]][] = [
      ['', A],
      [`endpointId=${ep.a2}`, A.filter((d) => d.endpointId === ep.a2)],
      [`eventId=${events[3].id}`, A.filter((d) => d.eventId === events[3].id)],
      ['eventType=order.paid', A.filter((d) => d.eventType === 'order.paid')],
      ['status=failed', A.filter((d) => d.status === 'failed')],
      ['status=pending', A.filter((d) => d.status === 'pending')],
      ['status=succeeded', A.filter((d) => d.status === 'succeeded')],
      [`since=${midA.toISOString()}`, A.filter((d) => d.createdAt >= midA)],
      [`until=${midA.toISOString()}`, A.filter((d) => d.createdAt < midA)],
      [
        `endpointId=${ep.a1}&status=failed&since=${events[1].createdAt.toISOString()}&until=${events[10].createdAt.toISOString()}`,
        A.filter(
          (d) =>
            d.endpointId === ep.a1 &&
            d.status === 'failed' &&
            d.createdAt >= events[1].createdAt &&
            d.createdAt < events[10].createdAt,
        ),
      ],
      [
        'eventType=invoice.sent&status=pending',
        A.filter((d) => d.eventType === 'invoice.sent' && d.status === 'pending'),
      ],
    ];
    for (const [query, expected] of cases) {
      assert.ok(expected.length > 0 || query.includes('&'), `case ${query} should match something`);
      for (const limit of [1, 4, 200]) {
        const got = await all(`/v1/deliveries${query ? `?${query}` : ''}`, appA.key, limit);
        assert.deepEqual(
          got.map((d) => d.id),
          dIds(expected),
          `GET /v1/deliveries?${query} (limit ${limit})`,
        );
      }
    }
    // The view: ISO strings, every field.
    const one = (await stack.api.request('GET', `/v1/deliveries?eventId=${events[0].id}`, { key: appA.key }))
      .body.data[0];
    assert.deepEqual(Object.keys(one).sort(), [
      'applicationId',
      'attemptCount',
      'completedAt',
      'createdAt',
      'deadlineAt',
      'endpointId',
      'eventId',
      'eventType',
      'id',
      'inFlightSince',
      'lastError',
      'lastStatusCode',
      'nextAttemptAt',
      'priority',
      'status',
      'updatedAt',
    ]);
    assert.equal(one.createdAt, events[0].createdAt.toISOString());
  });

  it('scopes deliveries: an application sees its own, admin and support see all or the one named', async () => {
    const B = deliveries.filter((d) => d.applicationId === appB.id);
    assert.deepEqual(
      (await all('/v1/deliveries', appB.key, 5)).map((d) => d.id),
      dIds(B),
    );
    for (const key of [ADMIN_KEY, supportKey]) {
      assert.deepEqual(
        (await all('/v1/deliveries', key, 7)).map((d) => d.id),
        dIds(deliveries),
      );
      assert.deepEqual(
        (await all(`/v1/deliveries?applicationId=${appB.id}`, key, 2)).map((d) => d.id),
        dIds(B),
      );
      assert.deepEqual(
        (await all('/v1/deliveries?status=failed', key, 2)).map((d) => d.id),
        dIds(deliveries.filter((d) => d.status === 'failed')),
      );
      assert.deepEqual(
        (await all('/v1/deliveries?eventType=order.created', key, 2)).map((d) => d.id),
        dIds(deliveries.filter((d) => d.eventType === 'order.created')),
      );
      assert.deepEqual(
        (await all(`/v1/deliveries?endpointId=${ep.b1}`, key, 2)).map((d) => d.id),
        dIds(B),
      );
    }
    // A's key naming B, or filtering on B's endpoint or event: 404, like ids that don't exist.
    const unknownEp = 'ep_00000000000000000000000000ff';
    for (const q of [
      `applicationId=${appB.id}`,
      `endpointId=${ep.b1}`,
      `eventId=${events[13].id}`,
      `endpointId=${unknownEp}`,
    ]) {
      const r = await stack.api.request('GET', `/v1/deliveries?${q}`, { key: appA.key });
      assert.equal(r.status, 404, `${q}: ${JSON.stringify(r.body)}`);
    }
    assert.equal(
      (await stack.api.request('GET', `/v1/deliveries?applicationId=${appA.id}`, { key: appA.key })).status,
      200,
    );
    assert.equal(
      (
        await stack.api.request('GET', '/v1/deliveries?applicationId=app_00000000000000000000000000ff', {
          key: ADMIN_KEY,
        })
      ).status,
      404,
    );
  });

  it('lists attempts by every filter, newest first by startedAt, paging without duplicates or gaps', async () => {
    const A = attempts.filter((a) => a.applicationId === appA.id);
    const someDelivery = deliveries.find((d) => attempts.filter((a) => a.deliveryId === d.id).length === 3)!;
    const mid = events[6].createdAt;
    const cases: [string, SeededAttempt[]][] = [
      ['', A],
      [`endpointId=${ep.a1}`, A.filter((a) => a.endpointId === ep.a1)],
      [`eventId=${events[2].id}`, A.filter((a) => a.eventId === events[2].id)],
      [`deliveryId=${someDelivery.id}`, A.filter((a) => a.deliveryId === someDelivery.id)],
      ['outcome=succeeded', A.filter((a) => a.outcome === 'succeeded')],
      ['outcome=retrying', A.filter((a) => a.outcome === 'retrying')],
      ['outcome=failed', A.filter((a) => a.outcome === 'failed')],
      ['outcome=interrupted', A.filter((a) => a.outcome === 'interrupted')],
      ['statusCode=500', A.filter((a) => a.responseStatus === 500)],
      ['statusCode=501', A.filter((a) => a.responseStatus === 501)],
      [`since=${mid.toISOString()}`, A.filter((a) => a.startedAt >= mid)],
      [`until=${mid.toISOString()}`, A.filter((a) => a.startedAt < mid)],
      [
        `endpointId=${ep.a2}&outcome=failed&since=${events[0].createdAt.toISOString()}`,
        A.filter((a) => a.endpointId === ep.a2 && a.outcome === 'failed'),
      ],
    ];
    for (const [query, expected] of cases) {
      assert.ok(expected.length > 0, `case ${query} should match something`);
      for (const limit of [1, 3, 200]) {
        const got = await all(`/v1/attempts${query ? `?${query}` : ''}`, appA.key, limit);
        assert.deepEqual(
          got.map((a) => a.id),
          aIds(expected),
          `GET /v1/attempts?${query} (limit ${limit})`,
        );
      }
    }
    // Admin: every application; support with an application filter.
    assert.deepEqual(
      (await all('/v1/attempts', ADMIN_KEY, 5)).map((a) => a.id),
      aIds(attempts),
    );
    assert.deepEqual(
      (await all(`/v1/attempts?applicationId=${appB.id}&outcome=failed`, supportKey, 5)).map((a) => a.id),
      aIds(attempts.filter((a) => a.applicationId === appB.id && a.outcome === 'failed')),
    );
    // Another application's delivery as a filter: 404.
    const bDelivery = deliveries.find((d) => d.applicationId === appB.id)!;
    assert.equal(
      (await stack.api.request('GET', `/v1/attempts?deliveryId=${bDelivery.id}`, { key: appA.key })).status,
      404,
    );
    // Every attempt field is in the view.
    const a = (
      await stack.api.request('GET', `/v1/attempts?deliveryId=${someDelivery.id}&limit=1`, {
        key: appA.key,
      })
    ).body.data[0];
    assert.deepEqual(Object.keys(a).sort(), [
      'applicationId',
      'createdAt',
      'deliveryId',
      'durationMs',
      'endpointId',
      'errorClass',
      'errorMessage',
      'eventId',
      'id',
      'number',
      'outcome',
      'requestHeaders',
      'responseBody',
      'responseHeaders',
      'responseStatus',
      'startedAt',
      'url',
    ]);
    assert.equal(a.requestHeaders['webhook-id'], someDelivery.eventId);
  });

  it('returns one delivery with its event, endpoint and attempts in order; 404 outside the scope', async () => {
    const d = deliveries.find((x) => attempts.filter((a) => a.deliveryId === x.id).length === 3)!;
    const r = await stack.api.request('GET', `/v1/deliveries/${d.id}`, { key: appA.key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.id, d.id);
    assert.equal(r.body.status, d.status);
    const e = events.find((x) => x.id === d.eventId)!;
    assert.deepEqual(r.body.event, {
      id: e.id,
      eventType: e.eventType,
      payload: { i: events.indexOf(e) },
      createdAt: e.createdAt.toISOString(),
    });
    assert.deepEqual(r.body.endpoint, {
      id: d.endpointId,
      url: d.endpointId === ep.a1 ? 'https://a1.example.com/hook' : 'https://a2.example.com/hook',
    });
    assert.deepEqual(
      r.body.attempts.map((a: any) => a.number),
      [1, 2, 3],
    );
    assert.deepEqual(
      r.body.attempts.map((a: any) => a.id),
      attempts.filter((a) => a.deliveryId === d.id).map((a) => a.id),
    );
    for (const key of [ADMIN_KEY, supportKey]) {
      assert.equal((await stack.api.request('GET', `/v1/deliveries/${d.id}`, { key })).status, 200);
    }
    for (const id of [d.id, 'dlv_00000000000000000000000000ff', 'nope']) {
      const other = await stack.api.request('GET', `/v1/deliveries/${id}`, { key: appB.key });
      assert.equal(other.status, 404);
      assert.equal(other.body.error, 'not_found');
    }
  });

  it('rejects bad filters with 422 naming the field, unknown parameters with 422, bad cursors with 400', async () => {
    const cases: [string, string[]][] = [
      ['/v1/deliveries?status=lost', ['status']],
      ['/v1/deliveries?status=pending&status=failed', ['status']],
      ['/v1/deliveries?since=yesterday', ['since']],
      ['/v1/deliveries?until=2026-13-01', ['until']],
      ['/v1/deliveries?since=2026-01-02&until=2026-01-01', ['until']],
      ['/v1/deliveries?endpointId=foo', ['endpointId']],
      ['/v1/deliveries?eventType=has%20space', ['eventType']],
      ['/v1/deliveries?limit=0', ['limit']],
      ['/v1/deliveries?colour=red', ['colour']],
      ['/v1/attempts?outcome=maybe', ['outcome']],
      ['/v1/attempts?statusCode=abc', ['statusCode']],
      ['/v1/attempts?statusCode=99', ['statusCode']],
      ['/v1/attempts?deliveryId=evt_00000000000000000000000000ff', ['deliveryId']],
      ['/v1/attempts?since=2026-01-01T00:00:00', ['since']],
      ['/v1/attempts?status=failed', ['status']],
    ];
    for (const [path, fields] of cases) {
      const r = await stack.api.request('GET', path, { key: appA.key });
      assert.equal(r.status, 422, `${path}: ${JSON.stringify(r.body)}`);
      assert.deepEqual([...new Set(r.body.fields.map((f: { field: string }) => f.field))], fields, path);
    }
    for (const path of ['/v1/deliveries?cursor=garbage', '/v1/attempts?cursor=Zm9vfGJhcg']) {
      assert.equal((await stack.api.request('GET', path, { key: appA.key })).status, 400, path);
    }
  });

  it('a cursor is tied to its list: a deliveries cursor is refused by /v1/attempts (400, field cursor)', async () => {
    const page = await stack.api.request('GET', '/v1/deliveries?limit=1', { key: appA.key });
    assert.equal(page.status, 200);
    const cursor = page.body.nextCursor as string;
    assert.ok(cursor, 'the application has more than one delivery');
    const own = await stack.api.request('GET', `/v1/deliveries?limit=1&cursor=${cursor}`, { key: appA.key });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    const other = await stack.api.request('GET', `/v1/attempts?limit=1&cursor=${cursor}`, { key: appA.key });
    assert.equal(other.status, 400, JSON.stringify(other.body));
    assert.deepEqual(fieldsOf(other.body), ['cursor']);
  });

  it('computes endpoint statistics exactly on known attempts', async () => {
    // A fresh endpoint of A with attempts at known offsets before `now`.
    const r = await stack.api.request('POST', '/v1/endpoints', {
      key: appA.key,
      body: { url: 'https://stats.example.com/hook' },
    });
    const epId: string = r.body.id;
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const e = await seed.event(appA.id, { createdAt: new Date(now.getTime() - 9 * 24 * HOUR) });
    const d = await seed.delivery(e, epId, { status: 'failed' });
    const at = (ms: number) => new Date(now.getTime() - ms);
    const rows: [number, SeededAttempt['outcome'], number | null, number | null][] = [
      // [age, outcome, duration, status]
      [10 * MIN, 'failed', 300, 503], // hour
      [20 * MIN, 'retrying', 200, 500], // hour
      [30 * MIN, 'interrupted', null, null], // hour (no duration)
      [40 * MIN, 'failed', 100, 502], // hour
      [50 * MIN, 'succeeded', 40, 200], // hour
      [3 * HOUR, 'succeeded', 50, 200], // day
      [5 * HOUR + 30 * MIN, 'failed', 700, 500], // day
      [2 * 24 * HOUR, 'failed', 1000, 500], // week
      [6 * 24 * HOUR, 'succeeded', 20, 200], // week
      [8 * 24 * HOUR, 'failed', 5000, 500], // older than a week: only in the streak/last-error logic
    ];
    let num = 0;
    for (const [age, outcome, durationMs, responseStatus] of rows.slice().reverse()) {
      await seed.attempt(d, {
        number: ++num,
        outcome,
        startedAt: at(age),
        durationMs,
        responseStatus,
        errorClass:
          outcome === 'failed' || outcome === 'retrying'
            ? null
            : outcome === 'interrupted'
              ? 'interrupted'
              : null,
        errorMessage: outcome === 'succeeded' ? null : `problem ${age}`,
      });
    }
    const stats = await stack.api.app
      .get(DeliveriesQueryService)
      .endpointStats({ applicationId: appA.id }, epId, now);
    assert.deepEqual(stats.windows.hour, {
      attempts: 5,
      succeeded: 1,
      successRate: 0.2,
      p50DurationMs: 100, // percentile_disc of 40, 100, 200, 300 (the interrupted one has none)
      p95DurationMs: 300,
    });
    assert.deepEqual(stats.windows.day, {
      attempts: 7,
      succeeded: 2,
      successRate: 2 / 7,
      p50DurationMs: 100, // 40, 50, 100, 200, 300, 700
      p95DurationMs: 700,
    });
    assert.deepEqual(stats.windows.week, {
      attempts: 9,
      succeeded: 3,
      successRate: 3 / 9,
      p50DurationMs: 100, // 20, 40, 50, 100, 200, 300, 700, 1000
      p95DurationMs: 1000,
    });
    assert.deepEqual(stats.lastError && { ...stats.lastError, attemptId: 'x' }, {
      attemptId: 'x',
      deliveryId: d.id,
      outcome: 'failed',
      class: null,
      message: `problem ${10 * MIN}`,
      status: 503,
      at: at(10 * MIN).toISOString(),
    });
    // Since the success 50 minutes ago: failed, interrupted (not counted, not breaking), retrying, failed.
    assert.equal(stats.failureStreak, 3);
    assert.equal(stats.lastSuccessAt, at(50 * MIN).toISOString());
    assert.equal(stats.hourly.length, 24);
    const hourStart = Math.floor(now.getTime() / HOUR) * HOUR;
    assert.equal(stats.hourly[23].hour, new Date(hourStart).toISOString());
    assert.equal(stats.hourly[0].hour, new Date(hourStart - 23 * HOUR).toISOString());
    const expected = new Map<string, { attempts: number; succeeded: number }>();
    for (const [age, outcome] of rows) {
      const t = now.getTime() - age;
      if (t < hourStart - 23 * HOUR) continue;
      const h = new Date(Math.floor(t / HOUR) * HOUR).toISOString();
      const x = expected.get(h) ?? { attempts: 0, succeeded: 0 };
      x.attempts++;
      if (outcome === 'succeeded') x.succeeded++;
      expected.set(h, x);
    }
    for (const h of stats.hourly) {
      assert.deepEqual(
        { attempts: h.attempts, succeeded: h.succeeded },
        expected.get(h.hour) ?? { attempts: 0, succeeded: 0 },
        h.hour,
      );
    }
    assert.equal(
      stats.hourly.reduce((s, h) => s + h.attempts, 0),
      7,
    );

    // Over HTTP: the same shape; B's key and unknown ids get 404; support and admin may read it.
    const http = await stack.api.request('GET', `/v1/endpoints/${epId}/stats`, { key: appA.key });
    assert.equal(http.status, 200, JSON.stringify(http.body));
    assert.equal(http.body.windows.week.attempts, 9);
    assert.equal(http.body.failureStreak, 3);
    assert.equal(
      (await stack.api.request('GET', `/v1/endpoints/${epId}/stats`, { key: appB.key })).status,
      404,
    );
    assert.equal(
      (await stack.api.request('GET', `/v1/endpoints/${epId}/stats`, { key: supportKey })).status,
      200,
    );
    assert.equal(
      (
        await stack.api.request('GET', '/v1/endpoints/ep_00000000000000000000000000ff/stats', {
          key: ADMIN_KEY,
        })
      ).status,
      404,
    );
  });

  it('reports an endpoint without attempts, and a streak with no success at all', async () => {
    const svc = stack.api.app.get(DeliveriesQueryService);
    const r = await stack.api.request('POST', '/v1/endpoints', {
      key: appB.key,
      body: { url: 'https://quiet.example.com/hook' },
    });
    const quiet = await svc.endpointStats({ applicationId: appB.id }, r.body.id);
    assert.deepEqual(quiet.windows.day, {
      attempts: 0,
      succeeded: 0,
      successRate: null,
      p50DurationMs: null,
      p95DurationMs: null,
    });
    assert.equal(quiet.lastError, null);
    assert.equal(quiet.lastSuccessAt, null);
    assert.equal(quiet.failureStreak, 0);
    assert.ok(quiet.hourly.every((h) => h.attempts === 0));

    const e = await seed.event(appB.id);
    const d = await seed.delivery(e, r.body.id, { status: 'failed' });
    for (let i = 1; i <= 4; i++) {
      await seed.attempt(d, {
        number: i,
        outcome: i === 4 ? 'failed' : 'retrying',
        startedAt: new Date(Date.now() - (5 - i) * MIN),
        responseStatus: 500,
      });
    }
    const failing = await svc.endpointStats({}, r.body.id);
    assert.equal(failing.failureStreak, 4);
    assert.equal(failing.lastError?.outcome, 'failed');
    assert.equal(failing.windows.hour.successRate, 0);
  });
});
