import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiHarness } from './support/api-harness';
import { DeliveryHelpers } from './support/delivery-helpers';
import { freePort } from './support/free-port';
import { TestReceivers } from './support/receiver';
import { sql, waitFor } from './support/scratch-db';
import { TestStack } from './support/stack';
import { applyTestEnv } from './support/test-env';

const TOKEN = 'metrics-token-0123456789';

/** The value of one series, e.g. value(text, 'tern_events_accepted_total{mode="single"}'); undefined if absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  let stack: TestStack;
  let workerPort: number;
  let h: DeliveryHelpers;
  const receivers = new TestReceivers();

  before(async () => {
    workerPort = await freePort();
    stack = await TestStack.start('metrics', {
      WORKER_METRICS_PORT: String(workerPort),
      METRICS_TOKEN: TOKEN,
    });
    const app = await stack.api.createApplication('metrics');
    h = new DeliveryHelpers(stack.api, app.key, stack.databaseUrl);
  });
  after(async () => {
    await stack.stop();
    await receivers.closeAll();
  });

  const receiver = () => receivers.start();

  async function apiMetrics(): Promise<string> {
    const r = await fetch(`${stack.api.baseUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return r.text();
  }

  async function workerMetrics(): Promise<string> {
    const r = await fetch(`http://127.0.0.1:${workerPort}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(r.status, 200);
    return r.text();
  }

  it('both /metrics need METRICS_TOKEN when it is set', async () => {
    for (const url of [`${stack.api.baseUrl}/metrics`, `http://127.0.0.1:${workerPort}/metrics`]) {
      assert.equal((await fetch(url)).status, 401, url);
      assert.equal(
        (await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
        401,
      );
      assert.equal((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    }
    assert.equal((await fetch(`http://127.0.0.1:${workerPort}/other`)).status, 404);
  });

  it('API: events accepted and replayed, request durations by route template, process metrics', async () => {
    const rx = (await receiver()).always(200);
    await h.endpoint(rx.url);
    await h.emit();
    const key = { 'idempotency-key': 'metrics-1' };
    for (let i = 0; i < 2; i++) {
      const r = await stack.api.request('POST', '/v1/events', {
        key: h.key,
        body: { eventType: 'order.created', payload: {} },
        headers: key,
      });
      assert.equal(r.status, i === 0 ? 202 : 200);
    }
    await h.emitMany(3);
    const ep = await h.endpoint(rx.url);
    assert.equal((await stack.api.request('GET', `/v1/endpoints/${ep.id}`, { key: h.key })).status, 200);
    assert.equal((await stack.api.request('GET', '/v1/endpoints/ep_nope', { key: h.key })).status, 404);
    assert.equal((await stack.api.request('GET', '/no/such/path')).status, 404);

    const text = await apiMetrics();
    assert.equal(value(text, 'tern_events_accepted_total{mode="single"}'), 2);
    assert.equal(value(text, 'tern_events_accepted_total{mode="batch"}'), 3);
    assert.equal(value(text, 'tern_events_duplicates_total{mode="single"}'), 1);
    const route = (r: string, status: number, method = 'GET') =>
      value(
        text,
        `tern_http_request_duration_seconds_count{method="${method}",route="${r}",status_code="${status}"}`,
      );
    assert.equal(route('/v1/events', 202, 'POST'), 2);
    assert.equal(route('/v1/events', 200, 'POST'), 1);
    assert.equal(route('/v1/events/batch', 202, 'POST'), 1);
    assert.equal(route('/v1/endpoints/:id', 200), 1);
    assert.equal(route('/v1/endpoints/:id', 404), 1);
    assert.equal(route('unmatched', 404), 1);
    assert.doesNotMatch(text, /(evt|ep|dlv|app)_[0-9a-f]{28}/, 'no ids in labels');
    assert.ok((value(text, 'process_cpu_user_seconds_total') ?? -1) >= 0);
    assert.ok(text.includes('nodejs_eventloop_lag_seconds'));
  });

  it('API: global backlog gauges, read at scrape time', async () => {
    const rx = (await receiver()).always(200);
    const ep = await h.endpoint(rx.url, { eventTypes: ['backlog.test'] });
    await stack.stopWorker();
    try {
      await h.emitMany(4, 'backlog.test');
      await new Promise((r) => setTimeout(r, 1100));
      const text = await apiMetrics();
      assert.ok((value(text, 'tern_deliveries_releasable') ?? 0) >= 4);
      assert.ok(
        (value(text, 'tern_dispatch_lag_seconds') ?? 0) >= 1,
        'the oldest due delivery has waited about a second',
      );
      assert.ok(value(text, 'tern_deliveries_outstanding') !== undefined);
      assert.ok((value(text, 'tern_deliveries_pending') ?? 0) >= 4);
      for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused']) {
        assert.ok(value(text, `tern_queue_jobs{state="${state}"}`) !== undefined, state);
      }
      assert.equal(value(text, 'tern_metrics_collect_errors_total{source="queue"}'), undefined);
    } finally {
      await stack.startWorker();
    }
    await h.waitAllSettled(ep.id, 4);
    // Every delivery of the stack finished (other endpoints of this file may get these events too, so one can be
    // released and not yet recorded when this one's are done): then nothing is due, so no lag.
    const drained = await waitFor('the backlog gauges to drop', async () => {
      const text = await apiMetrics();
      const idle =
        value(text, 'tern_deliveries_releasable') === 0 && value(text, 'tern_deliveries_outstanding') === 0;
      return idle ? text : null;
    });
    assert.equal(value(drained, 'tern_dispatch_lag_seconds'), 0);
  });

  it('API: endpoints by circuit state, every state reported, read at scrape time', async () => {
    const circuits = async () => {
      const text = await apiMetrics();
      const n = (state: string) => value(text, `tern_endpoint_circuit_state{state="${state}"}`);
      return { closed: n('closed'), open: n('open'), half_open: n('half_open') };
    };
    const before = await circuits();
    for (const [state, n] of Object.entries(before))
      assert.ok(n !== undefined && n >= 0, `${state} reported`);
    assert.equal(before.half_open, 0, 'a state no endpoint is in is reported as 0');

    // No events of this type are emitted, and the circuit below is opened the way the record statement leaves it
    // (a failure streak of 10 that began a minute ago): the dispatcher closes an open circuit whose endpoint has no
    // failure streak (its last attempt succeeded), so the streak is what keeps this one open.
    const rx = (await receiver()).always(200);
    const ep = await h.endpoint(rx.url, { eventTypes: ['circuit.never'] });
    const withNew = await circuits();
    assert.equal(withNew.closed, before.closed! + 1, 'an endpoint without a state row counts as closed');
    assert.equal(withNew.open, before.open);

    await sql(
      stack.databaseUrl,
      `UPDATE endpoints SET failure_streak = 10, failing_since = now() - interval '1 minute' WHERE id = $1`,
      [ep.id],
    );
    await sql(
      stack.databaseUrl,
      `INSERT INTO endpoint_states (endpoint_id, circuit_state, circuit_opened_at, circuit_next_probe_at,
                                    circuit_cooldown_ms, circuit_probe_streak)
       VALUES ($1, 'open', now(), now() + interval '30 minutes', 1800000, 10)`,
      [ep.id],
    );
    const opened = await circuits();
    assert.deepEqual(opened, { closed: before.closed, open: before.open! + 1, half_open: 0 });
    // Several dispatcher cycles (DISPATCH_INTERVAL_MS is 200 in tests) leave it open: the row is consistent.
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(await circuits(), opened, 'still open after the dispatcher ran');

    // Disabled (or deleted) endpoints are not counted, whatever their circuit.
    const off = await stack.api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: h.key,
      body: { disabled: true },
    });
    assert.equal(off.status, 200);
    assert.deepEqual(await circuits(), before);
    assert.equal((await stack.api.request('DELETE', `/v1/endpoints/${ep.id}`, { key: h.key })).status, 204);
  });

  it('worker: outcomes, attempts by error class, latency, queue wait, in flight, released', async () => {
    const ok = (await receiver()).always(200);
    const bad = (await receiver()).always(400);
    const flaky = (await receiver()).reply(503).always(200);
    const slow = (await receiver()).always({ status: 200 });
    const okEp = await h.endpoint(ok.url, { eventTypes: ['w.test'] });
    const badEp = await h.endpoint(bad.url, { eventTypes: ['w.test'] });
    const flakyEp = await h.endpoint(flaky.url, { eventTypes: ['w.test'] });
    const limited = await h.endpoint(slow.url, { eventTypes: ['w.limited'], rateLimitPerSecond: 1 });
    await h.emit('w.test');
    await h.emitMany(3, 'w.limited');
    await h.waitAllSettled(okEp.id, 1);
    await h.waitAllSettled(badEp.id, 1);
    await h.waitAllSettled(flakyEp.id, 1);
    await h.waitAllSettled(limited.id, 3);

    const text = await workerMetrics();
    assert.ok((value(text, 'tern_deliveries_completed_total{outcome="succeeded"}') ?? 0) >= 5);
    assert.ok((value(text, 'tern_deliveries_completed_total{outcome="failed"}') ?? 0) >= 1);
    assert.ok(
      (value(text, 'tern_delivery_attempts_total{outcome="failed",error_class="http_4xx"}') ?? 0) >= 1,
    );
    assert.ok(
      (value(text, 'tern_delivery_attempts_total{outcome="retrying",error_class="http_5xx"}') ?? 0) >= 1,
    );
    assert.ok(
      (value(text, 'tern_delivery_attempts_total{outcome="succeeded",error_class="http_2xx"}') ?? 0) >= 5,
    );
    assert.ok((value(text, 'tern_delivery_attempt_duration_seconds_count{outcome="succeeded"}') ?? 0) >= 5);
    assert.ok((value(text, 'tern_delivery_queue_wait_seconds_count') ?? 0) >= 7);
    assert.equal(value(text, 'tern_delivery_in_flight'), 0);
    assert.ok((value(text, 'tern_deliveries_released_total') ?? 0) >= 7);
    assert.ok(text.includes('process_resident_memory_bytes'));
  });

  it('worker: endpoints disabled on 410, reconciler actions', async () => {
    const gone = (await receiver()).always(410);
    const ep = await h.endpoint(gone.url, { eventTypes: ['w.gone'] });
    await h.emit('w.gone');
    await h.waitAllSettled(ep.id, 1);
    const text = await waitFor('the 410 to be counted', async () => {
      const t = await workerMetrics();
      return value(t, 'tern_endpoints_disabled_total{reason="gone"}') === 1 ? t : null;
    });
    assert.ok(text.includes('tern_reconciler_actions_total'));
  });
});

describe('metrics without a token', () => {
  let api: ApiHarness;
  before(async () => {
    api = await ApiHarness.start({ METRICS_TOKEN: '' });
  });
  after(async () => {
    await api.stop();
    applyTestEnv();
  });

  it('GET /metrics is public, like /healthz', async () => {
    const r = await fetch(`${api.baseUrl}/metrics`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /tern_events_accepted_total/);
  });
});
