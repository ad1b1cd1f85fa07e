import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiHarness } from './support/api-harness';
import { freePort } from './support/free-port';
import { TcpProxy } from './support/tcp-proxy';
import { applyTestEnv, TEST_ENV } from './support/test-env';

describe('readiness with Redis unreachable', () => {
  let api: ApiHarness;

  before(async () => {
    // main.ts refuses to start without Redis; the harness skips that check, like an API whose Redis went away.
    // Redis at a loopback port nothing listens on.
    api = await ApiHarness.start({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
  });
  after(async () => {
    await api.stop();
    applyTestEnv();
  });

  it('/readyz answers 503 naming Redis as down and Postgres as up; /healthz stays 200', async () => {
    const ready = await api.request('GET', '/readyz');
    assert.equal(ready.status, 503, JSON.stringify(ready.body));
    assert.equal(ready.body.error, 'service_unavailable');
    assert.equal(ready.body.message, 'Not ready: redis unreachable (postgres up)');
    assert.equal((await api.request('GET', '/healthz')).status, 200);
  });

  it('/metrics still answers, without the queue gauges, counting the failed read', async () => {
    const started = Date.now();
    const r = await fetch(`${api.baseUrl}/metrics`);
    assert.equal(r.status, 200);
    assert.ok(Date.now() - started < 5000, 'a scrape does not hang on Redis');
    const text = await r.text();
    assert.doesNotMatch(text, /^tern_queue_jobs\{/m);
    assert.match(text, /^tern_metrics_collect_errors_total\{source="queue"\} 1$/m);
    assert.match(text, /^tern_deliveries_pending \d+$/m);
  });

  it('the API keeps serving what does not need Redis', async () => {
    const created = await api.createApplication('no redis');
    const ep = await api.request('POST', '/v1/endpoints', {
      key: created.key,
      body: { url: 'https://example.com/hook' },
    });
    assert.equal(ep.status, 201);
  });
});

describe('the API while PostgreSQL is unavailable', () => {
  let api: ApiHarness;
  let proxy: TcpProxy;
  let app: { id: string; key: string };

  before(async () => {
    const pg = new URL(TEST_ENV.DATABASE_URL);
    proxy = await TcpProxy.start({ host: pg.hostname, port: Number(pg.port || 5432) });
    api = await ApiHarness.start({ DATABASE_URL: proxy.rewrite(TEST_ENV.DATABASE_URL) });
    app = await api.createApplication('postgres down');
  });
  after(async () => {
    await api?.stop();
    await proxy?.close();
    applyTestEnv();
  });

  it('answers 503 with Retry-After naming postgres (not 500), and accepts again once it is back', async () => {
    proxy.cut();
    const down = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { eventType: 'order.created', payload: { n: 1 } },
    });
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.body.error, 'service_unavailable');
    assert.equal(down.body.dependency, 'postgres');
    assert.match(down.headers.get('retry-after') ?? '', /^\d+$/);

    proxy.restore();
    const back = await api.request('POST', '/v1/events', {
      key: app.key,
      body: { eventType: 'order.created', payload: { n: 2 } },
    });
    assert.equal(back.status, 202, JSON.stringify(back.body));
  });
});
