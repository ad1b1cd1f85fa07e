import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiMetrics, attemptErrorClass, METRIC, metricsAccessAllowed, WorkerMetrics } from './metrics';

describe('metrics', () => {
  it('labels attempts by transport error class, else by HTTP status class', () => {
    assert.equal(attemptErrorClass('timeout', 200), 'timeout');
    assert.equal(attemptErrorClass(null, 204), 'http_2xx');
    assert.equal(attemptErrorClass(null, 302), 'http_3xx');
    assert.equal(attemptErrorClass(undefined, 410), 'http_4xx');
    assert.equal(attemptErrorClass(null, 503), 'http_5xx');
    assert.equal(attemptErrorClass(null, null), 'none');
  });

  it('metrics access: open without a token, else only with "Bearer <token>"', () => {
    assert.equal(metricsAccessAllowed('', undefined), true);
    assert.equal(metricsAccessAllowed('', 'Bearer anything'), true);
    assert.equal(metricsAccessAllowed('s3cret-token-123456', undefined), false);
    assert.equal(metricsAccessAllowed('s3cret-token-123456', 'Bearer wrong'), false);
    assert.equal(metricsAccessAllowed('s3cret-token-123456', 's3cret-token-123456'), false);
    assert.equal(metricsAccessAllowed('s3cret-token-123456', 'Bearer s3cret-token-123456'), true);
    assert.equal(metricsAccessAllowed('s3cret-token-123456', 'bearer  s3cret-token-123456'), true);
  });

  it('each process has its own registry with every metric of METRIC it owns, and process metrics', async () => {
    const api = new ApiMetrics();
    const worker = new WorkerMetrics();
    const names = async (m: ApiMetrics | WorkerMetrics) =>
      (await m.registry.getMetricsAsJSON()).map((x) => x.name);
    const apiNames = await names(api);
    const workerNames = await names(worker);
    for (const name of Object.values(METRIC)) {
      assert.ok(apiNames.includes(name) !== workerNames.includes(name), `${name} is in exactly one registry`);
    }
    assert.ok(apiNames.includes('process_cpu_user_seconds_total'));
    assert.ok(workerNames.includes('process_cpu_user_seconds_total'));
    // Two instances in one process (API and worker in tests) don't clash.
    assert.ok(new ApiMetrics().registry !== api.registry);
  });

  it('global gauges: set from a snapshot; a part that could not be read is left out and counted', async () => {
    const m = new ApiMetrics();
    m.setBacklog({
      queue: { waiting: 3, delayed: 1 },
      database: {
        deliveriesReleasable: 2,
        deliveriesOutstanding: 1,
        dispatchLagSeconds: 1.5,
        deliveriesPending: 4,
        endpointCircuits: { closed: 7, open: 2, half_open: 0 },
      },
    });
    let text = await m.text();
    assert.match(text, /^tern_queue_jobs\{state="waiting"\} 3$/m);
    assert.match(text, /^tern_dispatch_lag_seconds 1\.5$/m);
    assert.match(text, /^tern_endpoint_circuit_state\{state="closed"\} 7$/m);
    assert.match(text, /^tern_endpoint_circuit_state\{state="open"\} 2$/m);
    assert.match(text, /^tern_endpoint_circuit_state\{state="half_open"\} 0$/m, 'every state, 0 when none');
    m.setBacklog({ queue: null, database: null });
    text = await m.text();
    assert.doesNotMatch(text, /^tern_queue_jobs\{/m);
    assert.doesNotMatch(text, /^tern_deliveries_pending \d/m);
    assert.doesNotMatch(text, /^tern_endpoint_circuit_state\{/m);
    assert.match(text, /^tern_metrics_collect_errors_total\{source="queue"\} 1$/m);
    assert.match(text, /^tern_metrics_collect_errors_total\{source="database"\} 1$/m);
  });
});
