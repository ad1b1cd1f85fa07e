import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Notification } from 'pg';
import { ENDPOINT_CHANGED_CHANNEL, EndpointsRepository, EndpointsService } from '@tern/core';
import { ADMIN_KEY, ApiHarness, fieldsOf } from './support/api-harness';
import { connectTestDb } from './support/scratch-db';

type App = { id: string; key: string };

/** Status, and the set of field names the error names. */
describe('endpoints API', () => {
  let api: ApiHarness;
  let db: Client;

  before(async () => {
    // No allow-listed CIDRs: loopback and private IP literals are refused, as in production.
    api = await ApiHarness.start({ SSRF_ALLOW_CIDRS: '' });
    db = await connectTestDb();
  });
  after(async () => {
    await db.end();
    await api.stop();
  });

  async function createEndpoint(app: App, body: Record<string, unknown> = {}) {
    const r = await api.request('POST', '/v1/endpoints', {
      key: app.key,
      body: { url: 'https://example.com/hooks', ...body },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  }

  async function counts(applicationId: string): Promise<{ endpoints: number; secrets: number }> {
    const { rows } = await db.query<{ endpoints: number; secrets: number }>(
      `SELECT (SELECT count(*)::int FROM endpoints WHERE application_id = $1) AS endpoints,
              (SELECT count(*)::int FROM endpoint_secrets s JOIN endpoints e ON e.id = s.endpoint_id
                WHERE e.application_id = $1) AS secrets`,
      [applicationId],
    );
    return rows[0];
  }

  async function endpointRow(id: string): Promise<Record<string, unknown>> {
    const { rows } = await db.query('SELECT * FROM endpoints WHERE id = $1', [id]);
    return rows[0];
  }

  async function secretRows(endpointId: string): Promise<Record<string, unknown>[]> {
    const { rows } = await db.query('SELECT * FROM endpoint_secrets WHERE endpoint_id = $1 ORDER BY id', [
      endpointId,
    ]);
    return rows;
  }

  /** One event and its delivery per (endpoint, status), inserted directly (the events API is not used here). */
  async function insertDeliveries(
    applicationId: string,
    specs: { endpointId: string; status: 'pending' | 'succeeded' | 'failed' }[],
  ): Promise<string[]> {
    const ids: string[] = [];
    for (const s of specs) {
      const ev = await db.query<{ id: string }>(
        `INSERT INTO events (application_id, event_type, payload) VALUES ($1, 'invoice.paid', '{}') RETURNING id`,
        [applicationId],
      );
      const pending = s.status === 'pending';
      const r = await db.query<{ id: string }>(
        `INSERT INTO deliveries (application_id, event_id, endpoint_id, event_type, status, next_attempt_at,
                                 deadline_at, completed_at, last_error)
         VALUES ($1, $2, $3, 'invoice.paid', $4, $5, now() + interval '1 day', $6, $7) RETURNING id`,
        [
          applicationId,
          ev.rows[0].id,
          s.endpointId,
          s.status,
          // Far in the future: no reconciler of a concurrently running test picks these up.
          pending ? new Date(Date.now() + 3600_000) : null,
          pending ? null : new Date(),
          s.status === 'failed' ? 'http_500' : null,
        ],
      );
      ids.push(r.rows[0].id);
    }
    return ids;
  }

  async function delivery(id: string) {
    const { rows } = await db.query<{
      status: string;
      last_error: string | null;
      completed_at: Date | null;
      next_attempt_at: Date | null;
    }>('SELECT status, last_error, completed_at, next_attempt_at FROM deliveries WHERE id = $1', [id]);
    return rows[0];
  }

  it('creates, reads, lists, updates and deletes an endpoint', async () => {
    const app = await api.createApplication();
    const created = await createEndpoint(app, {
      url: 'https://Example.com/hooks?x=1',
      description: 'billing',
      eventTypes: ['invoice.paid', 'invoice.voided', 'invoice.paid'],
      rateLimitPerSecond: 50,
      maxInFlight: 5,
      headers: { 'X-Tenant': 'acme', Authorization: 'Bearer abc' },
    });
    assert.match(created.id, /^ep_[0-9a-f]{28}$/);
    assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(created.applicationId, app.id);
    assert.equal(created.url, 'https://example.com/hooks?x=1');
    assert.equal(created.description, 'billing');
    assert.deepEqual(created.eventTypes, ['invoice.paid', 'invoice.voided']);
    assert.equal(created.disabled, false);
    assert.equal(created.disabledReason, null);
    assert.equal(created.disabledAt, null);
    assert.equal(created.rateLimitPerSecond, 50);
    assert.equal(created.maxInFlight, 5);
    assert.equal((await endpointRow(created.id)).max_in_flight, 5);
    assert.deepEqual(created.headers, { 'X-Tenant': 'acme', Authorization: 'Bearer abc' });
    assert.ok(!Number.isNaN(Date.parse(created.createdAt)));

    const got = await api.request('GET', `/v1/endpoints/${created.id}`, { key: app.key });
    assert.equal(got.status, 200);
    const { secret: _secret, ...view } = created;
    assert.deepEqual(got.body, view);
    assert.equal(got.body.secret, undefined);

    // Header names that are also Object.prototype members are plain names.
    const odd = await createEndpoint(app, { headers: { toString: 't', hasOwnProperty: 'h' } });
    assert.deepEqual(odd.headers, { toString: 't', hasOwnProperty: 'h' });
    await api.request('DELETE', `/v1/endpoints/${odd.id}`, { key: app.key });

    const proto = await api.request('POST', '/v1/endpoints', {
      key: app.key,
      rawBody: '{"url":"https://example.com/","headers":{"__proto__":"x","constructor":"c"}}',
    });
    // Nest's ValidationPipe strips "__proto__", "constructor" and "prototype" keys first: nothing is stored for them.
    assert.equal(proto.status, 201, JSON.stringify(proto.body));
    assert.deepEqual(proto.body.headers, {});
    assert.equal(Object.getPrototypeOf(proto.body.headers), Object.prototype);
    await api.request('DELETE', `/v1/endpoints/${proto.body.id}`, { key: app.key });

    const defaults = await createEndpoint(app);
    assert.equal(defaults.description, '');
    assert.deepEqual(defaults.eventTypes, []);
    assert.deepEqual(defaults.headers, {});
    assert.equal(defaults.rateLimitPerSecond, null);
    assert.equal(defaults.maxInFlight, null, 'null = ENDPOINT_MAX_IN_FLIGHT');

    const list = await api.request('GET', '/v1/endpoints', { key: app.key });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.data.map((e: { id: string }) => e.id),
      [defaults.id, created.id],
    );
    assert.equal(list.body.nextCursor, null);
    assert.ok(list.body.data.every((e: { secret?: string }) => e.secret === undefined));

    const patched = await api.request('PATCH', `/v1/endpoints/${created.id}`, {
      key: app.key,
      body: {
        description: 'billing v2',
        rateLimitPerSecond: null,
        maxInFlight: null,
        headers: { 'X-Other': '1' },
      },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body, {
      ...view,
      description: 'billing v2',
      rateLimitPerSecond: null,
      maxInFlight: null,
      headers: { 'X-Other': '1' },
      updatedAt: patched.body.updatedAt,
    });
    assert.equal((await endpointRow(created.id)).max_in_flight, null);
    assert.ok(Date.parse(patched.body.updatedAt) >= Date.parse(view.updatedAt));

    const moved = await api.request('PATCH', `/v1/endpoints/${created.id}`, {
      key: app.key,
      body: { url: 'http://hooks.example.org:8080/in', eventTypes: [], maxInFlight: 1000 },
    });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.maxInFlight, 1000, 'the largest allowed');
    assert.equal(moved.body.url, 'http://hooks.example.org:8080/in');
    assert.deepEqual(moved.body.eventTypes, []);
    assert.equal(moved.body.description, 'billing v2');

    const del = await api.request('DELETE', `/v1/endpoints/${created.id}`, { key: app.key });
    assert.equal(del.status, 204);
    assert.equal(del.body, undefined);
    assert.notEqual((await endpointRow(created.id)).deleted_at, null, 'soft-deleted: the row stays');
    for (const [method, path, body] of [
      ['GET', `/v1/endpoints/${created.id}`, undefined],
      ['PATCH', `/v1/endpoints/${created.id}`, { description: 'x' }],
      ['DELETE', `/v1/endpoints/${created.id}`, undefined],
      ['GET', `/v1/endpoints/${created.id}/secret`, undefined],
      ['POST', `/v1/endpoints/${created.id}/secret/rotate`, {}],
    ] as const) {
      const r = await api.request(method, path, { key: app.key, body });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.error, 'not_found');
    }
    const after = await api.request('GET', '/v1/endpoints', { key: app.key });
    assert.deepEqual(
      after.body.data.map((e: { id: string }) => e.id),
      [defaults.id],
    );
    assert.equal((await api.request('GET', '/v1/endpoints/not-an-id', { key: app.key })).status, 404);
  });

  it('pages newest first with limit and cursor, without duplicates', async () => {
    const app = await api.createApplication();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createEndpoint(app, { description: `#${i}` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
      const r = await api.request('GET', `/v1/endpoints${q}`, { key: app.key });
      assert.equal(r.status, 200);
      assert.ok(r.body.data.length <= 2);
      seen.push(...r.body.data.map((e: { id: string }) => e.id));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    assert.equal(new Set(seen).size, 5);
    assert.deepEqual(seen, [...ids].reverse());

    const big = await api.request('GET', '/v1/endpoints?limit=1000', { key: app.key });
    assert.equal(big.status, 200, 'limit above PAGE_SIZE_MAX is capped, not refused');
    assert.equal(big.body.data.length, 5);
  });

  it('refuses bad list parameters', async () => {
    const app = await api.createApplication();
    for (const [q, status, field] of [
      ['?cursor=garbage', 400, 'cursor'],
      ['?cursor=' + Buffer.from('2024-01-01T00:00:00.000Z|nope').toString('base64url'), 400, 'cursor'],
      ['?limit=0', 422, 'limit'],
      ['?limit=abc', 422, 'limit'],
      ['?limit=2&extra=1', 422, 'extra'],
    ] as const) {
      const r = await api.request('GET', `/v1/endpoints${q}`, { key: app.key });
      assert.equal(r.status, status, q);
      assert.deepEqual(fieldsOf(r.body), [field], q);
    }
  });

  it('refuses every class of bad input on create with the field named, and stores nothing', async () => {
    const app = await api.createApplication();
    const before = await counts(app.id);
    const manyHeaders = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']));
    const bigHeaders = { 'X-A': 'a'.repeat(2100), 'X-B': 'b'.repeat(2100) };
    const ok = 'https://example.com/hooks';
    const cases: [string, Record<string, unknown>, string][] = [
      ['non-http scheme', { url: 'ftp://example.com/x' }, 'url'],
      ['javascript scheme', { url: 'javascript:alert(1)' }, 'url'],
      ['relative url', { url: '/hooks' }, 'url'],
      ['no scheme', { url: 'example.com/hooks' }, 'url'],
      ['credentials in url', { url: 'https://user:pass@example.com/' }, 'url'],
      ['username in url', { url: 'https://user@example.com/' }, 'url'],
      ['empty userinfo', { url: 'https://@example.com/' }, 'url'],
      ['url too long', { url: `https://example.com/${'a'.repeat(2048)}` }, 'url'],
      ['whitespace in url', { url: 'https://exa mple.com/' }, 'url'],
      ['loopback IPv4', { url: 'http://127.0.0.1/' }, 'url'],
      ['loopback shorthand', { url: 'http://127.1:8080/' }, 'url'],
      ['loopback IPv6', { url: 'http://[::1]/' }, 'url'],
      ['private IPv4', { url: 'https://10.1.2.3/hook' }, 'url'],
      ['link-local metadata', { url: 'http://169.254.169.254/latest/meta-data' }, 'url'],
      ['IPv4-mapped IPv6', { url: 'http://[::ffff:127.0.0.1]/' }, 'url'],
      ['missing url', { url: undefined }, 'url'],
      ['url wrong type', { url: 42 }, 'url'],
      ['url null', { url: null }, 'url'],
      ['bad eventType', { eventTypes: ['invoice paid'] }, 'eventTypes'],
      ['eventType too long', { eventTypes: ['a'.repeat(129)] }, 'eventTypes'],
      ['empty eventType', { eventTypes: [''] }, 'eventTypes'],
      ['eventType wrong type', { eventTypes: [1] }, 'eventTypes'],
      ['eventTypes not an array', { eventTypes: 'invoice.paid' }, 'eventTypes'],
      ['too many eventTypes', { eventTypes: Array.from({ length: 101 }, (_, i) => `t${i}`) }, 'eventTypes'],
      ['reserved header content-type', { headers: { 'Content-Type': 'text/plain' } }, 'headers.Content-Type'],
      ['reserved header host', { headers: { HOST: 'evil' } }, 'headers.HOST'],
      [
        'reserved header webhook-*',
        { headers: { 'Webhook-Signature': 'v1,x' } },
        'headers.Webhook-Signature',
      ],
      [
        'reserved header transfer-encoding',
        { headers: { 'transfer-encoding': 'chunked' } },
        'headers.transfer-encoding',
      ],
      // Ports outside DELIVERY_ALLOWED_PORTS (default 80,443,1024-65535): SMTP, SSH on public hosts (issue #8).
      ['port 25', { url: 'http://mail.example.com:25/' }, 'url'],
      ['port 22', { url: 'https://example.com:22/hook' }, 'url'],
      // Connection-level headers undici refuses to send: accepted, they failed every delivery (issue #8).
      ['connection-level header expect', { headers: { Expect: '100-continue' } }, 'headers.Expect'],
      [
        'connection-level header keep-alive',
        { headers: { 'Keep-Alive': 'timeout=5' } },
        'headers.Keep-Alive',
      ],
      ['connection-level header upgrade', { headers: { upgrade: 'websocket' } }, 'headers.upgrade'],
      ['connection-level header te', { headers: { TE: 'trailers' } }, 'headers.TE'],
      ['header value with CRLF', { headers: { 'X-Inject': 'a\r\nX-Evil: 1' } }, 'headers.X-Inject'],
      ['header value with LF', { headers: { 'X-Inject': 'a\nb' } }, 'headers.X-Inject'],
      ['header name not a token', { headers: { 'X Bad': 'v' } }, 'headers.X Bad'],
      ['header value not a string', { headers: { 'X-Num': 1 } }, 'headers.X-Num'],
      ['duplicate header names', { headers: { 'X-A': '1', 'x-a': '2' } }, 'headers.x-a'],
      ['too many headers', { headers: manyHeaders }, 'headers'],
      ['headers too large', { headers: bigHeaders }, 'headers'],
      ['headers is an array', { headers: [['X-A', '1']] }, 'headers'],
      ['headers is a string', { headers: 'X-A: 1' }, 'headers'],
      ['description too long', { description: 'd'.repeat(501) }, 'description'],
      ['description null', { description: null }, 'description'],
      ['disabled wrong type', { disabled: 'yes' }, 'disabled'],
      ['rate limit zero', { rateLimitPerSecond: 0 }, 'rateLimitPerSecond'],
      ['rate limit too high', { rateLimitPerSecond: 10_001 }, 'rateLimitPerSecond'],
      ['rate limit fractional', { rateLimitPerSecond: 1.5 }, 'rateLimitPerSecond'],
      ['rate limit as string', { rateLimitPerSecond: '5' }, 'rateLimitPerSecond'],
      ['max in flight zero', { maxInFlight: 0 }, 'maxInFlight'],
      ['max in flight too high', { maxInFlight: 1001 }, 'maxInFlight'],
      ['max in flight fractional', { maxInFlight: 1.5 }, 'maxInFlight'],
      ['max in flight as string', { maxInFlight: 'x' }, 'maxInFlight'],
      ['unknown field', { colour: 'blue' }, 'colour'],
      ['disabledReason on create', { disabledReason: 'x' }, 'disabledReason'],
      ['bad secret prefix', { secret: 'sk_' + Buffer.alloc(32, 1).toString('base64') }, 'secret'],
      ['secret too short', { secret: 'whsec_' + Buffer.alloc(16, 1).toString('base64') }, 'secret'],
      ['secret wrong type', { secret: 123 }, 'secret'],
    ];
    for (const [name, patch, field] of cases) {
      const r = await api.request('POST', '/v1/endpoints', { key: app.key, body: { url: ok, ...patch } });
      assert.equal(r.status, 422, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, 'validation_failed', name);
      assert.deepEqual(fieldsOf(r.body), [field], `${name}: ${JSON.stringify(r.body.fields)}`);
    }
    // Several problems at once are all named.
    const many = await api.request('POST', '/v1/endpoints', {
      key: app.key,
      body: { url: 'http://127.0.0.1/', headers: { host: 'x' }, secret: 'nope' },
    });
    assert.equal(many.status, 422);
    assert.deepEqual(fieldsOf(many.body), ['headers.host', 'secret', 'url']);
    assert.ok(!JSON.stringify(many.body).includes('nope'), 'the rejected secret is not echoed');

    const malformed = await api.request('POST', '/v1/endpoints', { key: app.key, rawBody: '{"url":' });
    assert.equal(malformed.status, 400);
    const notObject = await api.request('POST', '/v1/endpoints', { key: app.key, rawBody: '[1,2]' });
    assert.ok(notObject.status === 400 || notObject.status === 422, String(notObject.status));

    assert.deepEqual(await counts(app.id), before);
  });

  it('refuses bad input on update and leaves the endpoint as it was', async () => {
    const app = await api.createApplication();
    const ep = await createEndpoint(app, { headers: { 'X-A': '1' }, rateLimitPerSecond: 5, maxInFlight: 5 });
    const rowBefore = await endpointRow(ep.id);
    const secretsBefore = await secretRows(ep.id);
    const cases: [string, Record<string, unknown>, string][] = [
      ['loopback url', { url: 'http://127.0.0.1:3000/' }, 'url'],
      ['port not allowed', { url: 'http://example.com:110/' }, 'url'],
      ['url null', { url: null }, 'url'],
      ['relative url', { url: 'hooks' }, 'url'],
      ['reserved header', { headers: { 'User-Agent': 'me' } }, 'headers.User-Agent'],
      ['webhook- header', { headers: { 'webhook-id': 'x' } }, 'headers.webhook-id'],
      ['headers null', { headers: null }, 'headers'],
      ['eventTypes null', { eventTypes: null }, 'eventTypes'],
      ['bad eventType', { eventTypes: ['ok', 'not ok'] }, 'eventTypes'],
      ['disabled null', { disabled: null }, 'disabled'],
      ['disabled wrong type', { disabled: 'true' }, 'disabled'],
      ['disabledReason without disabled', { disabledReason: 'x' }, 'disabledReason'],
      ['disabledReason with disabled false', { disabled: false, disabledReason: 'x' }, 'disabledReason'],
      ['disabledReason too long', { disabled: true, disabledReason: 'r'.repeat(501) }, 'disabledReason'],
      ['rate limit negative', { rateLimitPerSecond: -1 }, 'rateLimitPerSecond'],
      ['max in flight zero', { maxInFlight: 0 }, 'maxInFlight'],
      ['max in flight too high', { maxInFlight: 1001 }, 'maxInFlight'],
      ['max in flight as string', { maxInFlight: 'x' }, 'maxInFlight'],
      ['unknown field', { secret: 'whsec_' + Buffer.alloc(32, 2).toString('base64') }, 'secret'],
      ['unknown field 2', { id: 'ep_x' }, 'id'],
    ];
    for (const [name, body, field] of cases) {
      const r = await api.request('PATCH', `/v1/endpoints/${ep.id}`, { key: app.key, body });
      assert.equal(r.status, 422, `${name}: ${JSON.stringify(r.body)}`);
      assert.deepEqual(fieldsOf(r.body), [field], `${name}: ${JSON.stringify(r.body.fields)}`);
    }
    assert.deepEqual(await endpointRow(ep.id), rowBefore);
    assert.deepEqual(await secretRows(ep.id), secretsBefore);
  });

  it('accepts IP literals inside SSRF_ALLOW_CIDRS (other harness) and public ones here', async () => {
    const app = await api.createApplication();
    const pub = await createEndpoint(app, { url: 'https://93.184.215.14:8443/hook' });
    assert.equal(pub.url, 'https://93.184.215.14:8443/hook');
    const local = await ApiHarness.start({ SSRF_ALLOW_CIDRS: '127.0.0.0/8' });
    try {
      const r = await local.request('POST', '/v1/endpoints', {
        key: app.key,
        body: { url: 'http://127.0.0.1:9999/hook' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const v6 = await local.request('POST', '/v1/endpoints', {
        key: app.key,
        body: { url: 'http://[::1]/' },
      });
      assert.equal(v6.status, 422);
    } finally {
      await local.stop();
    }
  });

  it("disabling fails the endpoint's pending deliveries in the same change; re-enabling leaves them", async () => {
    const app = await api.createApplication();
    const ep = await createEndpoint(app);
    const other = await createEndpoint(app);
    const [pending, done, failed, otherPending] = await insertDeliveries(app.id, [
      { endpointId: ep.id, status: 'pending' },
      { endpointId: ep.id, status: 'succeeded' },
      { endpointId: ep.id, status: 'failed' },
      { endpointId: other.id, status: 'pending' },
    ]);
    const doneBefore = await delivery(done);
    const failedBefore = await delivery(failed);

    const r = await api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: app.key,
      body: { disabled: true, disabledReason: 'maintenance' },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.disabled, true);
    assert.equal(r.body.disabledReason, 'maintenance');
    assert.ok(r.body.disabledAt && !Number.isNaN(Date.parse(r.body.disabledAt)));

    const d = await delivery(pending);
    assert.equal(d.status, 'failed');
    assert.equal(d.last_error, 'endpoint_disabled');
    assert.ok(d.completed_at instanceof Date);
    assert.equal(d.next_attempt_at, null);
    assert.deepEqual(await delivery(done), doneBefore);
    assert.deepEqual(await delivery(failed), failedBefore);
    assert.equal((await delivery(otherPending)).status, 'pending');

    // Disabling again keeps disabledAt; a new reason replaces the old one.
    const again = await api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: app.key,
      body: { disabled: true, disabledReason: 'still down' },
    });
    assert.equal(again.body.disabledAt, r.body.disabledAt);
    assert.equal(again.body.disabledReason, 'still down');

    const enabled = await api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: app.key,
      body: { disabled: false },
    });
    assert.equal(enabled.status, 200);
    assert.equal(enabled.body.disabled, false);
    assert.equal(enabled.body.disabledReason, null);
    assert.equal(enabled.body.disabledAt, null);
    assert.equal((await delivery(pending)).status, 'failed', 're-enabling does not revive old deliveries');
    assert.equal((await delivery(otherPending)).status, 'pending');

    // An endpoint created disabled is disabled from the start, without a reason.
    const off = await createEndpoint(app, { disabled: true });
    assert.equal(off.disabled, true);
    assert.ok(off.disabledAt);
    assert.equal(off.disabledReason, null);
  });

  it("deleting fails the endpoint's pending deliveries with endpoint_deleted", async () => {
    const app = await api.createApplication();
    const ep = await createEndpoint(app);
    const other = await createEndpoint(app);
    const [pending, done, otherPending] = await insertDeliveries(app.id, [
      { endpointId: ep.id, status: 'pending' },
      { endpointId: ep.id, status: 'succeeded' },
      { endpointId: other.id, status: 'pending' },
    ]);
    assert.equal((await api.request('DELETE', `/v1/endpoints/${ep.id}`, { key: app.key })).status, 204);
    const d = await delivery(pending);
    assert.equal(d.status, 'failed');
    assert.equal(d.last_error, 'endpoint_deleted');
    assert.ok(d.completed_at instanceof Date);
    assert.equal(d.next_attempt_at, null);
    assert.equal((await delivery(done)).status, 'succeeded');
    assert.equal((await delivery(done)).last_error, null);
    assert.equal((await delivery(otherPending)).status, 'pending');
  });

  it('disableForGone (worker, on 410) disables the endpoint and fails its pending deliveries', async () => {
    const app = await api.createApplication();
    const ep = await createEndpoint(app);
    const [pending] = await insertDeliveries(app.id, [{ endpointId: ep.id, status: 'pending' }]);
    const service = api.app.get(EndpointsService);
    assert.equal(await service.disableForGone(ep.id, 'receiver answered 410 Gone'), true);
    const view = await api.request('GET', `/v1/endpoints/${ep.id}`, { key: app.key });
    assert.equal(view.body.disabled, true);
    assert.equal(view.body.disabledReason, 'receiver answered 410 Gone');
    assert.ok(view.body.disabledAt);
    const d = await delivery(pending);
    assert.equal(d.status, 'failed');
    assert.equal(d.last_error, 'endpoint_disabled');

    // A second call keeps the first reason; deleted or unknown endpoints are left alone.
    assert.equal(await service.disableForGone(ep.id, 'again'), true);
    assert.equal((await endpointRow(ep.id)).disabled_reason, 'receiver answered 410 Gone');
    await api.request('DELETE', `/v1/endpoints/${ep.id}`, { key: app.key });
    assert.equal(await service.disableForGone(ep.id, 'x'), false);
    assert.equal(await service.disableForGone('ep_00000000000000000000000000ff', 'x'), false);
  });

  it('findForDelivery returns the delivery config of any endpoint, deleted ones flagged', async () => {
    const app = await api.createApplication();
    const a = await createEndpoint(app, { headers: { 'X-A': '1' }, rateLimitPerSecond: 7 });
    const b = await createEndpoint(app, { disabled: true });
    const c = await createEndpoint(app);
    await api.request('DELETE', `/v1/endpoints/${c.id}`, { key: app.key });
    const repo = api.app.get(EndpointsRepository);
    const configs = await repo.findForDelivery([a.id, b.id, c.id, 'ep_00000000000000000000000000ff', a.id]);
    const byId = new Map(configs.map((x) => [x.id, x]));
    assert.equal(configs.length, 3);
    assert.deepEqual(byId.get(a.id), {
      id: a.id,
      applicationId: app.id,
      url: 'https://example.com/hooks',
      kind: 'standard',
      headers: { 'X-A': '1' },
      disabled: false,
      deleted: false,
      rateLimitPerSecond: 7,
    });
    assert.equal(byId.get(b.id)?.disabled, true);
    assert.equal(byId.get(c.id)?.deleted, true);
    assert.deepEqual(await repo.findForDelivery([]), []);
  });

  it('notifies tern_endpoint_changed with the endpoint id on every change', async () => {
    const listener = await connectTestDb();
    const got: string[] = [];
    listener.on('notification', (n: Notification) => {
      if (n.channel === ENDPOINT_CHANGED_CHANNEL && n.payload) got.push(n.payload);
    });
    await listener.query(`LISTEN ${ENDPOINT_CHANGED_CHANNEL}`);
    try {
      const app = await api.createApplication();
      const ep = await createEndpoint(app);
      const waitFor = async (n: number) => {
        const deadline = Date.now() + 5000;
        while (got.filter((id) => id === ep.id).length < n && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(got.filter((id) => id === ep.id).length, n);
      };
      await waitFor(1);
      await api.request('PATCH', `/v1/endpoints/${ep.id}`, { key: app.key, body: { description: 'x' } });
      await waitFor(2);
      await api.request('POST', `/v1/endpoints/${ep.id}/secret/rotate`, { key: app.key, body: {} });
      await waitFor(3);
      await api.request('PATCH', `/v1/endpoints/${ep.id}`, { key: app.key, body: { disabled: true } });
      await waitFor(4);
      // A refused change sends nothing.
      await api.request('PATCH', `/v1/endpoints/${ep.id}`, { key: app.key, body: { url: 'ftp://x' } });
      await api.request('DELETE', `/v1/endpoints/${ep.id}`, { key: app.key });
      await waitFor(5);
    } finally {
      await listener.end();
    }
  });

  /** A same-origin form POST as a browser would send it (no redirects followed). */
  function postForm(path: string, fields: Record<string, string>): Promise<Response> {
    return fetch(`${api.baseUrl}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: api.baseUrl },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** The session cookie ("name=value") a form POST set, e.g. after a sign-in. */
  async function sessionCookie(path: string, fields: Record<string, string>, name: string): Promise<string> {
    const r = await postForm(path, fields);
    assert.equal(r.status, 303, `${path}: ${r.status}`);
    const set = r.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
    assert.ok(set, `${path} set no ${name} cookie`);
    return set.split(';')[0];
  }

  async function page(path: string, cookie: string): Promise<string> {
    const r = await fetch(`${api.baseUrl}${path}`, { headers: { cookie }, redirect: 'manual' });
    assert.equal(r.status, 200, path);
    return r.text();
  }

  it('reports the circuit breaker: closed with no times until the dispatcher stores a state', async () => {
    const app = await api.createApplication();
    const closed = { state: 'closed', openedAt: null, nextProbeAt: null };
    const created = await createEndpoint(app);
    assert.deepEqual(created.circuit, closed);
    const { rows } = await db.query('SELECT 1 FROM endpoint_states WHERE endpoint_id = $1', [created.id]);
    assert.equal(rows.length, 0, 'no endpoint_states row yet');
    assert.deepEqual(
      (await api.request('GET', `/v1/endpoints/${created.id}`, { key: app.key })).body.circuit,
      closed,
    );
    const list = await api.request('GET', '/v1/endpoints', { key: app.key });
    assert.deepEqual(list.body.data[0].circuit, closed);
    const patched = await api.request('PATCH', `/v1/endpoints/${created.id}`, {
      key: app.key,
      body: { description: 'x' },
    });
    assert.deepEqual(patched.body.circuit, closed);
  });

  it('reports an open circuit with its times in the API, the dashboard and the portal', async () => {
    const app = await api.createApplication();
    const ep = await createEndpoint(app, { url: 'https://example.com/circuit' });
    const other = await createEndpoint(app, { url: 'https://example.com/fine' });
    const openedAt = new Date(Date.now() - 60_000);
    const nextProbeAt = new Date(Date.now() + 30 * 60_000);
    // As the dispatcher writes it when the endpoint's failure streak reaches CIRCUIT_FAILURE_THRESHOLD.
    await db.query(
      `INSERT INTO endpoint_states (endpoint_id, circuit_state, circuit_opened_at, circuit_next_probe_at,
                                    circuit_cooldown_ms, circuit_probe_streak)
       VALUES ($1, 'open', $2, $3, 1800000, 10)`,
      [ep.id, openedAt, nextProbeAt],
    );
    const open = { state: 'open', openedAt: openedAt.toISOString(), nextProbeAt: nextProbeAt.toISOString() };

    const got = await api.request('GET', `/v1/endpoints/${ep.id}`, { key: app.key });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.circuit, open);
    const list = await api.request('GET', '/v1/endpoints', { key: app.key });
    const byId = new Map(list.body.data.map((e: { id: string; circuit: unknown }) => [e.id, e.circuit]));
    assert.deepEqual(byId.get(ep.id), open);
    assert.deepEqual(byId.get(other.id), { state: 'closed', openedAt: null, nextProbeAt: null });
    const patched = await api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: app.key,
      body: { description: 'still failing' },
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.circuit, open);
    const support = await api.request('POST', '/v1/support-keys', {
      key: ADMIN_KEY,
      body: { name: 'circuit' },
    });
    assert.deepEqual(
      (await api.request('GET', `/v1/endpoints/${ep.id}`, { key: support.body.key })).body.circuit,
      open,
    );

    // Dashboard: the endpoint page and the application's endpoint cards.
    const dashboard = await sessionCookie('/dashboard/login', { key: ADMIN_KEY }, 'tern_dashboard');
    const detail = await page(`/dashboard/endpoints/${ep.id}`, dashboard);
    assert.match(detail, /<dt>Circuit<\/dt>\s*<dd>\s*<span class="circuit" data-circuit-state="open">/);
    assert.ok(detail.includes(`datetime="${open.openedAt}"`), 'opened-at shown');
    assert.ok(detail.includes(`datetime="${open.nextProbeAt}"`), 'next probe shown');
    const cards = await page(`/dashboard/apps/${app.id}`, dashboard);
    const card = (id: string) =>
      cards.slice(cards.indexOf(`data-endpoint-id="${id}"`)).split('</article>')[0];
    assert.match(card(ep.id), /data-circuit-state="open"/);
    assert.match(card(ep.id), /data-testid="circuit-notice"/);
    assert.ok(card(ep.id).includes(`datetime="${open.nextProbeAt}"`));
    assert.match(card(other.id), /data-circuit-state="closed"/);
    assert.doesNotMatch(card(other.id), /circuit-notice/);

    // Portal: the customer sees it on the endpoint's page.
    const link = await api.request('POST', '/v1/portal-links', { key: app.key });
    assert.equal(link.status, 201, JSON.stringify(link.body));
    const portal = await sessionCookie(
      '/portal/enter',
      { token: String(link.body.url).split('#token=')[1] },
      'tern_portal',
    );
    const mine = await page(`/portal/endpoints/${ep.id}`, portal);
    assert.match(mine, /data-testid="circuit-notice" data-circuit-state="open"/);
    assert.ok(mine.includes(`datetime="${open.openedAt}"`));
    assert.ok(mine.includes(`datetime="${open.nextProbeAt}"`));
  });

  it('documents the endpoint routes and DTOs in /openapi.json', async () => {
    const doc = await api.request('GET', '/openapi.json');
    assert.equal(doc.status, 200);
    const paths = Object.keys(doc.body.paths);
    for (const p of [
      '/v1/endpoints',
      '/v1/endpoints/{id}',
      '/v1/endpoints/{id}/secret',
      '/v1/endpoints/{id}/secret/rotate',
    ]) {
      assert.ok(paths.includes(p), p);
    }
    const schemas = doc.body.components.schemas;
    assert.deepEqual(schemas.CreateEndpointDto.required, ['url']);
    for (const f of [
      'url',
      'description',
      'eventTypes',
      'disabled',
      'rateLimitPerSecond',
      'maxInFlight',
      'headers',
      'ordering',
      'onFailure',
      'secret',
    ]) {
      assert.ok(schemas.CreateEndpointDto.properties[f], `CreateEndpointDto.${f}`);
    }
    assert.ok(schemas.UpdateEndpointDto.properties.ordering);
    assert.ok(schemas.UpdateEndpointDto.properties.onFailure);
    assert.ok(schemas.UpdateEndpointDto.properties.disabledReason);
    assert.ok(schemas.UpdateEndpointDto.properties.maxInFlight);
    assert.ok(schemas.RotateSecretDto.properties.secret);
    // The response: the endpoint with its circuit breaker.
    assert.ok(schemas.EndpointDto.properties.url);
    assert.ok(schemas.CreatedEndpointDto.properties.secret);
    const circuitRef =
      schemas.EndpointDto.properties.circuit.$ref ?? schemas.EndpointDto.properties.circuit.allOf?.[0].$ref;
    assert.equal(circuitRef, '#/components/schemas/EndpointCircuitDto');
    assert.deepEqual(schemas.EndpointCircuitDto.properties.state.enum, ['closed', 'open', 'half_open']);
    assert.ok(schemas.EndpointCircuitDto.properties.openedAt);
    assert.ok(schemas.EndpointCircuitDto.properties.nextProbeAt);
    const get = doc.body.paths['/v1/endpoints/{id}'].get.responses['200'].content['application/json'].schema;
    assert.equal(get.$ref, '#/components/schemas/EndpointDto');
  });

  it('support keys read custom header names, never their values; the application and the admin see them whole', async () => {
    const app = await api.createApplication();
    const headers = { 'X-Tenant': 'acme', Authorization: 'Bearer receiver-credential' };
    const ep = await createEndpoint(app, { headers });
    const sk = await api.request('POST', '/v1/support-keys', { key: ADMIN_KEY, body: { name: 'desk' } });
    assert.equal(sk.status, 201, JSON.stringify(sk.body));
    const redacted = { 'X-Tenant': '[redacted]', Authorization: '[redacted]' };
    const one = await api.request('GET', `/v1/endpoints/${ep.id}`, { key: sk.body.key });
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.headers, redacted);
    const list = await api.request('GET', `/v1/endpoints?applicationId=${app.id}`, { key: sk.body.key });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.data[0].headers, redacted);
    assert.doesNotMatch(JSON.stringify([one.body, list.body]), /receiver-credential|acme/);
    for (const key of [app.key, ADMIN_KEY]) {
      assert.deepEqual((await api.request('GET', `/v1/endpoints/${ep.id}`, { key })).body.headers, headers);
    }
  });

  it('is for application keys only (admin and support keys may only read: see test/roles.e2e-spec.ts)', async () => {
    assert.equal((await api.request('GET', '/v1/endpoints')).status, 401);
    // Admin keys read another application's endpoints by naming it; without applicationId that is a 422.
    assert.equal((await api.request('GET', '/v1/endpoints', { key: ADMIN_KEY })).status, 422);
    const r = await api.request('POST', '/v1/endpoints', {
      key: ADMIN_KEY,
      body: { url: 'https://example.com/' },
    });
    assert.equal(r.status, 403);
  });
});
