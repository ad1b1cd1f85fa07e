import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY, ApiHarness } from './support/api-harness';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Authentication before the body, and the failed-authentication budgets (issue #8 finding 6). Each case speaks
 * from its own loopback address (127.0.0.N), so the per-address budgets of one case don't touch another's.
 */
describe('authentication: before the body is read, and throttled', () => {
  let api: ApiHarness;
  let port: number;

  before(async () => {
    api = await ApiHarness.start({
      AUTH_FAILURES_PER_IP: '5',
      AUTH_FAILURES_PER_KEY_PER_IP: '3',
      AUTH_FAILURE_WINDOW_SECONDS: '60',
      QUEUE_PREFIX: `auth${randomBytes(4).toString('hex')}`,
    });
    port = Number(new URL(api.baseUrl).port);
  });
  after(async () => {
    await api.stop();
  });

  /**
   * A request from `from`; `declaredLength` announces a body of that size of which only `body` is written. The
   * promise settles on the response, or fails after 5 s without one (a server waiting for the announced body).
   */
  function send(
    from: string,
    method: string,
    path: string,
    o: { key?: string; body?: string; declaredLength?: number; form?: boolean } = {},
  ): Promise<Answer> {
    const body = o.body ?? '';
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          localAddress: from,
          method,
          path,
          headers: {
            'content-type': o.form ? 'application/x-www-form-urlencoded' : 'application/json',
            'content-length': String(o.declaredLength ?? Buffer.byteLength(body)),
            ...(o.form ? { origin: api.baseUrl } : {}),
            ...(o.key ? { authorization: `Bearer ${o.key}` } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // The server may close the socket while the rest of an announced body is unsent: not our concern.
        if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
      });
      // A server that waits for the announced body never answers: give up (and free the socket) instead of hanging.
      req.setTimeout(5000, () => {
        req.destroy();
        reject(new Error(`no answer to ${method} ${path} within 5 s: the server is waiting for the body`));
      });
      req.write(body);
      if (o.declaredLength === undefined) req.end();
    });
  }

  const fakeKey = () =>
    `tern_key_${randomBytes(14).toString('hex')}.${randomBytes(32).toString('base64url')}`;
  const wrongSecretOf = (key: string) => `${key.slice(0, key.indexOf('.') + 1)}${'A'.repeat(43)}`;

  it('a /v1 request without a valid key gets 401 before its body is read', async () => {
    const partial = '{"events":[{"eventType":"a.b","payload":{"x":"';
    const anonymous = await send('127.0.0.2', 'POST', '/v1/events/batch', {
      body: partial,
      declaredLength: 8 * 1024 * 1024,
    });
    assert.equal(anonymous.status, 401);
    assert.equal(JSON.parse(anonymous.body).error, 'unauthorized');
    const wrong = await send('127.0.0.2', 'POST', '/v1/events', {
      key: fakeKey(),
      body: partial,
      declaredLength: 8 * 1024 * 1024,
    });
    assert.equal(wrong.status, 401);
    // Authentication comes first: malformed JSON with a bad key is a 401, not a 400.
    assert.equal(
      (await send('127.0.0.2', 'POST', '/v1/events', { key: fakeKey(), body: '{oops' })).status,
      401,
    );
    // A valid key still reaches the route, with its body.
    const app = await api.createApplication('auth first');
    const ok = await send('127.0.0.2', 'POST', '/v1/events', {
      key: app.key,
      body: JSON.stringify({ eventType: 'a.b', payload: { x: 1 } }),
    });
    assert.equal(ok.status, 202, ok.body);
  });

  it('one key hammered from one address: 429 + Retry-After after the budget; other addresses unaffected', async () => {
    const app = await api.createApplication('per key');
    const wrong = wrongSecretOf(app.key);
    for (let i = 0; i < 3; i++)
      assert.equal((await send('127.0.0.3', 'GET', '/v1/endpoints', { key: wrong })).status, 401);
    const throttled = await send('127.0.0.3', 'GET', '/v1/endpoints', { key: wrong });
    assert.equal(throttled.status, 429, throttled.body);
    const retryAfter = Number(throttled.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(throttled.headers['retry-after'])}`);
    assert.equal(JSON.parse(throttled.body).error, 'too_many_requests');
    // The budget is per address: the key's owner elsewhere is not locked out by someone failing with its id.
    assert.equal((await send('127.0.0.4', 'GET', '/v1/endpoints', { key: app.key })).status, 200);
  });

  it('many keys from one address: the address is throttled, even for a valid key', async () => {
    for (let i = 0; i < 5; i++)
      assert.equal((await send('127.0.0.5', 'GET', '/v1/endpoints', { key: fakeKey() })).status, 401);
    assert.equal((await send('127.0.0.5', 'GET', '/v1/applications', { key: ADMIN_KEY })).status, 429);
    assert.equal((await send('127.0.0.6', 'GET', '/v1/applications', { key: ADMIN_KEY })).status, 200);
  });

  it('requests without a key are refused (401) but spend no budget', async () => {
    for (let i = 0; i < 8; i++) assert.equal((await send('127.0.0.7', 'GET', '/v1/endpoints')).status, 401);
    assert.equal((await send('127.0.0.7', 'GET', '/v1/applications', { key: ADMIN_KEY })).status, 200);
  });

  it('dashboard sign-ins spend the same budget: 429 + Retry-After once it is spent', async () => {
    const login = (key: string) =>
      send('127.0.0.8', 'POST', '/dashboard/login', {
        form: true,
        body: new URLSearchParams({ key }).toString(),
      });
    for (let i = 0; i < 5; i++) assert.equal((await login(`wrong-admin-key-${i}`)).status, 401);
    const throttled = await login(ADMIN_KEY);
    assert.equal(throttled.status, 429);
    assert.ok(Number(throttled.headers['retry-after']) >= 1);
    assert.match(throttled.body, /Too many failed sign-ins/);
  });
});
