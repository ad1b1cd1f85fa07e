import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiHarness } from './support/api-harness';
import { freePort } from './support/free-port';
import { applyTestEnv } from './support/test-env';

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
