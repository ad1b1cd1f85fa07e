import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY } from './support/api-harness';
import { Seeder } from './support/seed';
import { TestStack } from './support/stack';

// Who may call what: every route of the API (as listed by /openapi.json) × every kind of caller, with the exact
// status expected. A route added without a row here fails the first test. Resources belong to application A;
// application B is a stranger (404, never 403, for A's ids).

const ROLES = ['admin', 'support', 'appA', 'appB', 'revokedSupport', 'noKey'] as const;
type Role = (typeof ROLES)[number];
type Expect = Record<Role, number>;

interface Fixtures {
  appA: { id: string; key: string };
  appB: { id: string; key: string };
  endpointId: string;
  eventId: string;
  deliveryId: string;
  freshEndpoint(): Promise<string>;
  freshFailedDelivery(): Promise<string>;
  freshAppKeyId(): Promise<string>;
  freshSupportKeyId(): Promise<string>;
}

interface Case {
  /** "METHOD /openapi/{path}" */
  route: string;
  variant?: string;
  request: (f: Fixtures) => Promise<{ path: string; body?: unknown }> | { path: string; body?: unknown };
  expect: Expect;
}

/** A route that needs a key: the revoked support key and no key at all get 401. */
const keyed = (e: Omit<Expect, 'revokedSupport' | 'noKey'>): Expect => ({
  ...e,
  revokedSupport: 401,
  noKey: 401,
});
const everyone = (status: number): Expect =>
  Object.fromEntries(ROLES.map((r) => [r, status])) as unknown as Expect;
const adminOnly = (ok: number) => keyed({ admin: ok, support: 403, appA: 403, appB: 403 });
/** Application-only routes on A's resources: B gets 404, admin and support 403. */
const ownerOnly = (ok: number) => keyed({ admin: 403, support: 403, appA: ok, appB: 404 });
/** Read routes on A's resources: admin, support and A; B gets 404. */
const readable = (ok = 200) => keyed({ admin: ok, support: ok, appA: ok, appB: 404 });
const TIMESTAMP = () => new Date(Date.now() - 3_600_000).toISOString();

const CASES: Case[] = [
  { route: 'GET /healthz', request: () => ({ path: '/healthz' }), expect: everyone(200) },
  { route: 'GET /readyz', request: () => ({ path: '/readyz' }), expect: everyone(200) },
  // Public while METRICS_TOKEN is unset (as here); API keys play no part.
  { route: 'GET /metrics', request: () => ({ path: '/metrics' }), expect: everyone(200) },
  {
    route: 'GET /v1/retention',
    request: () => ({ path: '/v1/retention' }),
    expect: keyed({ admin: 200, support: 200, appA: 200, appB: 200 }),
  },

  {
    route: 'POST /v1/applications',
    request: () => ({ path: '/v1/applications', body: { name: 'matrix' } }),
    expect: adminOnly(201),
  },
  {
    route: 'GET /v1/applications',
    request: () => ({ path: '/v1/applications' }),
    expect: keyed({ admin: 200, support: 200, appA: 403, appB: 403 }),
  },
  {
    route: 'GET /v1/applications/{id}',
    request: (f) => ({ path: `/v1/applications/${f.appA.id}` }),
    expect: keyed({ admin: 200, support: 200, appA: 403, appB: 403 }),
  },
  {
    route: 'POST /v1/applications/{id}/api-keys',
    request: (f) => ({ path: `/v1/applications/${f.appA.id}/api-keys`, body: { name: 'extra' } }),
    expect: adminOnly(201),
  },
  {
    route: 'GET /v1/applications/{id}/api-keys',
    request: (f) => ({ path: `/v1/applications/${f.appA.id}/api-keys` }),
    expect: adminOnly(200),
  },
  {
    route: 'POST /v1/applications/{id}/api-keys/{keyId}/revoke',
    request: async (f) => ({
      path: `/v1/applications/${f.appA.id}/api-keys/${await f.freshAppKeyId()}/revoke`,
    }),
    expect: adminOnly(200),
  },
  {
    route: 'POST /v1/applications/{id}/portal-sessions/revoke',
    request: async (f) => ({ path: `/v1/applications/${f.appA.id}/portal-sessions/revoke` }),
    expect: adminOnly(204),
  },

  {
    route: 'POST /v1/endpoints',
    request: () => ({ path: '/v1/endpoints', body: { url: 'https://matrix.example.com/hook' } }),
    expect: keyed({ admin: 403, support: 403, appA: 201, appB: 201 }),
  },
  {
    route: 'GET /v1/endpoints',
    variant: 'without applicationId',
    request: () => ({ path: '/v1/endpoints' }),
    expect: keyed({ admin: 422, support: 422, appA: 200, appB: 200 }),
  },
  {
    route: 'GET /v1/endpoints',
    variant: "with A's applicationId",
    request: (f) => ({ path: `/v1/endpoints?applicationId=${f.appA.id}` }),
    expect: readable(),
  },
  {
    route: 'GET /v1/endpoints/{id}',
    request: (f) => ({ path: `/v1/endpoints/${f.endpointId}` }),
    expect: readable(),
  },
  {
    route: 'PATCH /v1/endpoints/{id}',
    request: (f) => ({ path: `/v1/endpoints/${f.endpointId}`, body: { description: 'changed' } }),
    expect: ownerOnly(200),
  },
  {
    route: 'DELETE /v1/endpoints/{id}',
    request: async (f) => ({ path: `/v1/endpoints/${await f.freshEndpoint()}` }),
    expect: ownerOnly(204),
  },
  {
    route: 'GET /v1/endpoints/{id}/secret',
    request: (f) => ({ path: `/v1/endpoints/${f.endpointId}/secret` }),
    expect: ownerOnly(200),
  },
  {
    route: 'POST /v1/endpoints/{id}/secret/rotate',
    request: async (f) => ({ path: `/v1/endpoints/${await f.freshEndpoint()}/secret/rotate` }),
    expect: ownerOnly(200),
  },
  {
    route: 'GET /v1/endpoints/{id}/stats',
    request: (f) => ({ path: `/v1/endpoints/${f.endpointId}/stats` }),
    expect: readable(),
  },
  {
    route: 'POST /v1/endpoints/{id}/recover',
    request: (f) => ({ path: `/v1/endpoints/${f.endpointId}/recover`, body: { since: TIMESTAMP() } }),
    expect: readable(200),
  },
  {
    route: 'POST /v1/endpoints/{id}/filter/test',
    request: (f) => ({
      path: `/v1/endpoints/${f.endpointId}/filter/test`,
      body: { eventType: 'matrix.test', payload: {} },
    }),
    expect: readable(200),
  },
  {
    route: 'GET /v1/endpoints/{id}/blocked-partitions',
    request: (f) => ({ path: `/v1/endpoints/${f.endpointId}/blocked-partitions` }),
    expect: readable(),
  },
  {
    // Nothing is blocked: 404 for the key, after the endpoint's scope was checked (B: 404 for the endpoint).
    route: 'POST /v1/endpoints/{id}/partitions/skip',
    request: (f) => ({
      path: `/v1/endpoints/${f.endpointId}/partitions/skip`,
      body: { partitionKey: 'matrix' },
    }),
    expect: readable(404),
  },
  {
    route: 'POST /v1/endpoints/{id}/test',
    request: (f) => ({ path: `/v1/endpoints/${f.endpointId}/test` }),
    expect: keyed({ admin: 202, support: 403, appA: 202, appB: 404 }),
  },

  {
    route: 'POST /v1/events',
    request: () => ({ path: '/v1/events', body: { eventType: 'matrix.test', payload: {} } }),
    expect: keyed({ admin: 403, support: 403, appA: 202, appB: 202 }),
  },
  {
    route: 'POST /v1/events/batch',
    request: () => ({
      path: '/v1/events/batch',
      body: { events: [{ eventType: 'matrix.test', payload: {} }] },
    }),
    expect: keyed({ admin: 403, support: 403, appA: 202, appB: 202 }),
  },
  {
    route: 'GET /v1/events',
    variant: 'without applicationId',
    request: () => ({ path: '/v1/events' }),
    expect: keyed({ admin: 422, support: 422, appA: 200, appB: 200 }),
  },
  {
    route: 'GET /v1/events',
    variant: "with A's applicationId",
    request: (f) => ({ path: `/v1/events?applicationId=${f.appA.id}` }),
    expect: readable(),
  },
  {
    route: 'GET /v1/events/{id}',
    request: (f) => ({ path: `/v1/events/${f.eventId}` }),
    expect: readable(),
  },

  {
    route: 'GET /v1/deliveries',
    request: () => ({ path: '/v1/deliveries' }),
    expect: keyed({ admin: 200, support: 200, appA: 200, appB: 200 }),
  },
  {
    route: 'GET /v1/deliveries',
    variant: "with A's applicationId",
    request: (f) => ({ path: `/v1/deliveries?applicationId=${f.appA.id}` }),
    expect: readable(),
  },
  {
    route: 'GET /v1/deliveries/{id}',
    request: (f) => ({ path: `/v1/deliveries/${f.deliveryId}` }),
    expect: readable(),
  },
  {
    route: 'POST /v1/deliveries/{id}/redeliver',
    request: async (f) => ({ path: `/v1/deliveries/${await f.freshFailedDelivery()}/redeliver` }),
    expect: readable(200),
  },
  {
    route: 'GET /v1/attempts',
    request: () => ({ path: '/v1/attempts' }),
    expect: keyed({ admin: 200, support: 200, appA: 200, appB: 200 }),
  },
  {
    route: 'GET /v1/attempts',
    variant: "with A's endpoint",
    request: (f) => ({ path: `/v1/attempts?endpointId=${f.endpointId}` }),
    expect: readable(),
  },

  {
    route: 'POST /v1/portal-links',
    request: () => ({ path: '/v1/portal-links' }),
    expect: keyed({ admin: 403, support: 403, appA: 201, appB: 201 }),
  },

  {
    route: 'POST /v1/support-keys',
    request: () => ({ path: '/v1/support-keys', body: { name: 'matrix' } }),
    expect: adminOnly(201),
  },
  { route: 'GET /v1/support-keys', request: () => ({ path: '/v1/support-keys' }), expect: adminOnly(200) },
  {
    route: 'POST /v1/support-keys/{id}/revoke',
    request: async (f) => ({ path: `/v1/support-keys/${await f.freshSupportKeyId()}/revoke` }),
    expect: adminOnly(200),
  },
];

describe('roles: every route × every kind of caller', () => {
  let stack: TestStack;
  let seed: Seeder;
  let fixtures: Fixtures;
  const keys = {} as Record<Role, string | undefined>;

  before(async () => {
    // The revoked key fails on every route from one address: room for that in the failed-authentication budget.
    stack = await TestStack.start(
      'roles',
      { AUTH_FAILURES_PER_IP: '10000', AUTH_FAILURES_PER_KEY_PER_IP: '10000' },
      { worker: false },
    );
    seed = await Seeder.connect(stack.databaseUrl);
    const api = stack.api;
    const appA = await api.createApplication('A');
    const appB = await api.createApplication('B');
    const createSupportKey = async () => {
      const r = await api.request('POST', '/v1/support-keys', {
        key: ADMIN_KEY,
        body: { name: 'role test' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; key: string };
    };
    const support = await createSupportKey();
    const revoked = await createSupportKey();
    assert.equal(
      (await api.request('POST', `/v1/support-keys/${revoked.id}/revoke`, { key: ADMIN_KEY })).status,
      200,
    );
    Object.assign(keys, {
      admin: ADMIN_KEY,
      support: support.key,
      appA: appA.key,
      appB: appB.key,
      revokedSupport: revoked.key,
      noKey: undefined,
    });
    const freshEndpoint = async () => {
      const r = await api.request('POST', '/v1/endpoints', {
        key: appA.key,
        body: { url: 'https://a.example.com/hook' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.id as string;
    };
    const endpointId = await freshEndpoint();
    const ev = await api.request('POST', '/v1/events', {
      key: appA.key,
      body: { eventType: 'order.created', payload: { n: 1 } },
    });
    assert.equal(ev.status, 202);
    const deliveryId = (await api.request('GET', `/v1/deliveries?eventId=${ev.body.id}`, { key: appA.key }))
      .body.data[0].id as string;
    fixtures = {
      appA,
      appB,
      endpointId,
      eventId: ev.body.id,
      deliveryId,
      freshEndpoint,
      freshFailedDelivery: async () => {
        const e = await seed.event(appA.id);
        return (await seed.delivery(e, endpointId, { status: 'failed' })).id;
      },
      freshAppKeyId: async () => {
        const r = await api.request('POST', `/v1/applications/${appA.id}/api-keys`, {
          key: ADMIN_KEY,
          body: { name: 'to revoke' },
        });
        return r.body.id as string;
      },
      freshSupportKeyId: async () => (await createSupportKey()).id,
    };
  });
  after(async () => {
    await seed?.close();
    await stack?.stop();
  });

  it('has a matrix row for every route in the OpenAPI document, and no row for a route that is not there', async () => {
    const doc = await stack.api.request('GET', '/openapi.json');
    assert.equal(doc.status, 200);
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) {
        if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) {
          documented.add(`${method.toUpperCase()} ${path}`);
        }
      }
    }
    const covered = new Set(CASES.map((c) => c.route));
    assert.deepEqual(
      [...documented].filter((r) => !covered.has(r)).sort(),
      [],
      'routes without a row in the roles matrix (add one to CASES)',
    );
    assert.deepEqual(
      [...covered].filter((r) => !documented.has(r)).sort(),
      [],
      'matrix rows for routes the API does not document',
    );
  });

  for (const c of CASES) {
    it(`${c.route}${c.variant ? ` (${c.variant})` : ''}`, async () => {
      const method = c.route.split(' ')[0];
      const problems: string[] = [];
      for (const role of ROLES) {
        const { path, body } = await c.request(fixtures);
        const r = await stack.api.request(method, path, { key: keys[role], body });
        if (r.status !== c.expect[role]) {
          problems.push(`${role}: expected ${c.expect[role]}, got ${r.status} ${JSON.stringify(r.body)}`);
        } else if (r.status >= 400) {
          assert.equal(typeof r.body.error, 'string', `${role}: error body ${JSON.stringify(r.body)}`);
        }
      }
      assert.deepEqual(problems, [], `${method} ${c.route}`);
    });
  }

  it('support keys never see signing secrets, even for endpoints they can read', async () => {
    const r = await stack.api.request('GET', `/v1/endpoints/${fixtures.endpointId}`, { key: keys.support });
    assert.equal(r.status, 200);
    assert.equal(r.body.secret, undefined);
    const s = await stack.api.request('GET', `/v1/endpoints/${fixtures.endpointId}/secret`, {
      key: keys.support,
    });
    assert.equal(s.status, 403);
    assert.equal(s.body.error, 'forbidden');
    assert.equal(s.body.secret, undefined);
  });

  it('lists support keys without the keys themselves; a revoked key stops working at once', async () => {
    const r = await stack.api.request('POST', '/v1/support-keys', {
      key: ADMIN_KEY,
      body: { name: 'carol' },
    });
    assert.equal(r.status, 201);
    assert.equal(r.body.role, 'support');
    assert.equal(r.body.applicationId, null);
    assert.match(r.body.key, /^tern_key_[0-9a-f]{28}\.[A-Za-z0-9_-]{43}$/);
    assert.equal((await stack.api.request('GET', '/v1/deliveries', { key: r.body.key })).status, 200);
    const list = await stack.api.request('GET', '/v1/support-keys', { key: ADMIN_KEY });
    const mine = list.body.data.find((k: { id: string }) => k.id === r.body.id);
    assert.deepEqual(Object.keys(mine).sort(), [
      'applicationId',
      'createdAt',
      'id',
      'name',
      'revokedAt',
      'role',
    ]);
    assert.ok(list.body.data.every((k: { role: string }) => k.role === 'support'));
    const revoked = await stack.api.request('POST', `/v1/support-keys/${r.body.id}/revoke`, {
      key: ADMIN_KEY,
    });
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.revokedAt);
    assert.equal((await stack.api.request('GET', '/v1/deliveries', { key: r.body.key })).status, 401);
    // Idempotent; an application key's id is not a support key.
    const again = await stack.api.request('POST', `/v1/support-keys/${r.body.id}/revoke`, { key: ADMIN_KEY });
    assert.equal(again.body.revokedAt, revoked.body.revokedAt);
    const appKeyId = await fixtures.freshAppKeyId();
    assert.equal(
      (await stack.api.request('POST', `/v1/support-keys/${appKeyId}/revoke`, { key: ADMIN_KEY })).status,
      404,
    );
    assert.equal(
      (await stack.api.request('POST', '/v1/support-keys', { key: ADMIN_KEY, body: { name: '' } })).status,
      422,
    );
  });
});
