import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { freePort } from './support/free-port';
import { TestReceiver } from './support/receiver';
import { createScratchDatabase, waitFor } from './support/scratch-db';
import { builtMain, FAST_DELIVERY_ENV } from './support/stack';
import { TEST_ENV } from './support/test-env';

/** A built process (dist) whose stdout and stderr are kept: everything it logs. */
class LoggedProcess {
  output = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  static start(app: 'api' | 'worker', env: Record<string, string>): LoggedProcess {
    const child = spawn(process.execPath, [builtMain(app)], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new LoggedProcess(child);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Runs the real API and worker (dist/…/main.js) at LOG_LEVEL=trace, exercises every route that carries a secret —
 * keys in, keys out, endpoint secrets given and generated, rotations, custom header values, signed deliveries — and
 * then reads every line both processes wrote.
 */
describe('logs never carry secrets', () => {
  const secrets = new Map<string, string>(); // value → what it is
  let api: LoggedProcess;
  let worker: LoggedProcess;
  let base: string;
  let dropDb: () => Promise<void>;
  let rx: TestReceiver;

  const remember = (what: string, value: unknown) => {
    assert.equal(typeof value, 'string', what);
    secrets.set(value as string, what);
    // The distinctive part alone must not appear either (a key's secret half, a secret's base64).
    const tail = (value as string).replace(/^(whsec_|tern_key_[0-9a-f]{28}\.|Bearer |v1,)/, '');
    if (tail !== value && tail.length >= 16) secrets.set(tail, `${what} (secret part)`);
  };

  async function call(
    method: string,
    path: string,
    key?: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const r = await fetch(base + path, {
      method,
      headers: {
        ...headers,
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const json = (r.headers.get('content-type') ?? '').includes('json');
    return { status: r.status, body: json && text ? JSON.parse(text) : text };
  }

  before(async () => {
    const db = await createScratchDatabase('logs');
    dropDb = db.drop;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = {
      ...TEST_ENV,
      ...FAST_DELIVERY_ENV,
      LOG_LEVEL: 'trace',
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      QUEUE_PREFIX: `t${randomBytes(4).toString('hex')}`,
      PORT: String(port),
      WORKER_METRICS_PORT: '0',
    };
    remember('ADMIN_API_KEY', env.ADMIN_API_KEY);
    remember('SECRETS_ENCRYPTION_KEY', env.SECRETS_ENCRYPTION_KEY);
    rx = (await TestReceiver.start()).always(200);
    api = LoggedProcess.start('api', env);
    worker = LoggedProcess.start('worker', env);
    await waitFor('the API to listen', async () => /listening on/.test(api.output), 30_000);
    await waitFor('the worker to run', async () => /tern worker running/.test(worker.output), 30_000);
  });

  after(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await rx?.close();
    await dropDb?.();
  });

  it('keys, endpoint secrets, custom header values and signatures never reach a log line', async () => {
    const app = await call('POST', '/v1/applications', TEST_ENV.ADMIN_API_KEY, { name: 'logs' });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    const key = app.body.apiKey.key as string;
    remember('application API key', key);
    const extra = await call('POST', `/v1/applications/${app.body.id}/api-keys`, TEST_ENV.ADMIN_API_KEY, {});
    if (extra.status === 201) remember('second API key', extra.body.key);

    const ownSecret = `whsec_${randomBytes(32).toString('base64')}`;
    remember('endpoint secret given on create', ownSecret);
    const headerValue = `Bearer ${randomBytes(24).toString('hex')}`;
    remember('custom header value', headerValue);
    const ep = await call('POST', '/v1/endpoints', key, {
      url: rx.url,
      secret: ownSecret,
      headers: { Authorization: headerValue },
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    const generated = await call('POST', '/v1/endpoints', key, { url: rx.url, eventTypes: ['other.type'] });
    remember('generated endpoint secret', generated.body.secret);
    remember('secret read back', (await call('GET', `/v1/endpoints/${ep.body.id}/secret`, key)).body.secret);
    const rotatedTo = `whsec_${randomBytes(32).toString('base64')}`;
    remember('endpoint secret given on rotate', rotatedTo);
    const rotated = await call('POST', `/v1/endpoints/${ep.body.id}/secret/rotate`, key, {
      secret: rotatedTo,
    });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const rotatedAgain = await call('POST', `/v1/endpoints/${generated.body.id}/secret/rotate`, key, {});
    remember('generated secret on rotate', rotatedAgain.body.secret);
    // Rejected input that carries a secret (a malformed one) and failed authentication.
    const badSecret = `whsec_${randomBytes(8).toString('hex')}!!`;
    remember('malformed secret', badSecret);
    assert.equal((await call('POST', '/v1/endpoints', key, { url: rx.url, secret: badSecret })).status, 422);
    const wrongKey = `tern_key_${'0'.repeat(28)}.${randomBytes(32).toString('base64url')}`;
    remember('wrong API key', wrongKey);
    assert.equal((await call('GET', '/v1/endpoints', wrongKey)).status, 401);

    const single = await call(
      'POST',
      '/v1/events',
      key,
      { eventType: 'order.created', payload: { n: 1 } },
      {
        'idempotency-key': 'logs-1',
      },
    );
    assert.equal(single.status, 202);
    const batch = await call('POST', '/v1/events/batch', key, {
      events: [1, 2, 3].map((n) => ({ eventType: 'order.created', payload: { n } })),
    });
    assert.equal(batch.status, 202);
    assert.equal((await call('GET', `/v1/events/${single.body.id}`, key)).status, 200);
    await call('GET', '/metrics');
    await call('GET', '/readyz');

    await waitFor('four signed deliveries', async () => rx.requests.length >= 4, 30_000);
    for (const req of rx.requests) {
      assert.ok(new Webhook(rotatedTo).verify(req.body, req.headers as Record<string, string>));
      const header = String(req.headers['webhook-signature']);
      remember('webhook-signature header', header);
      for (const entry of header.split(' ')) remember('signature', entry);
      assert.equal(req.headers.authorization, headerValue);
    }

    // Give the processes time to write everything, then stop them (shutdown lines included).
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all([api.stop(), worker.stop()]);

    const logs = api.output + worker.output;
    // The logs are there (requests, with their ids), so their silence about secrets means something.
    assert.match(api.output, /"msg":"request completed"/);
    assert.match(api.output, /"url":"\/v1\/endpoints"/);
    assert.ok(secrets.size >= 20, `${secrets.size} secrets checked`);
    for (const [value, what] of secrets) {
      assert.ok(!logs.includes(value), `${what} appears in the logs`);
    }
    assert.match(api.output, /"authorization":"\[redacted\]"/);
  });
});
