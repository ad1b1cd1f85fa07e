import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeliveryHelpers } from './support/delivery-helpers';
import { TestReceiver } from './support/receiver';
import { sql, waitFor } from './support/scratch-db';
import { TestStack } from './support/stack';

/**
 * The circuit breaker and auto-disable end to end: a loopback receiver that fails, then recovers; a clock moved on
 * (failing_since set back) for the five days.
 */
describe('circuit breaker and auto-disable', () => {
  let stack: TestStack;
  const cleanups: (() => Promise<unknown>)[] = [];
  const COOLDOWN_MS = 1000;

  before(async () => {
    stack = await TestStack.start('circuit', {
      CIRCUIT_FAILURE_THRESHOLD: '3',
      // The count alone, so exactly the threshold's attempts fail before it opens (the duration is tested in
      // dispatch.repository.e2e-spec.ts and circuit-breaker.spec.ts).
      CIRCUIT_FAILURE_MIN_SECONDS: '0',
      CIRCUIT_COOLDOWN_MIN_SECONDS: String(COOLDOWN_MS / 1000),
      CIRCUIT_COOLDOWN_MAX_SECONDS: '2',
    });
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await stack?.stop();
  });

  async function receiver(): Promise<TestReceiver> {
    const rx = await TestReceiver.start();
    cleanups.push(() => rx.close());
    return rx;
  }

  async function circuitOf(endpointId: string) {
    const [row] = await sql<{ state: string; opened_at: Date | null; failing_since: Date | null }>(
      stack.databaseUrl,
      `SELECT s.circuit_state::text AS state, s.circuit_opened_at AS opened_at, e.failing_since
       FROM endpoint_states s JOIN endpoints e ON e.id = s.endpoint_id WHERE s.endpoint_id = $1`,
      [endpointId],
    );
    return row;
  }

  /**
   * An application with an operational endpoint (a receiver answering 200, to see the circuit and disable
   * events) and a receiver answering `status` for its standard endpoint.
   */
  async function failingApplication(name: string, status: number) {
    const app = await stack.api.createApplication(name);
    const h = new DeliveryHelpers(stack.api, app.key, stack.databaseUrl);
    const ops = (await receiver()).always(200);
    await h.endpoint(ops.url, { kind: 'operational' });
    const rx = (await receiver()).always(status);
    return { app, h, ops, rx };
  }

  it('opens after the threshold, sends nothing while open, one probe, closes, delivers the backlog', async () => {
    const { h, ops, rx } = await failingApplication('circuit', 500);
    // One at a time, so exactly the threshold's attempts fail before the circuit opens.
    const ep = await h.endpoint(rx.url, { maxInFlight: 1 });
    await h.emitMany(10);

    const opened = await waitFor('the circuit to open', async () => {
      const c = await circuitOf(ep.id);
      return c?.state === 'open' ? c : null;
    });
    const failedBeforeOpen = rx.requests.length;
    assert.equal(failedBeforeOpen, 3, 'the threshold of consecutive failures, then nothing');
    rx.always(200);

    assert.deepEqual(await h.waitAllSettled(ep.id, 10, 30_000), { succeeded: 10 });
    const attempts = await sql<{ started_at: Date; outcome: string }>(
      stack.databaseUrl,
      `SELECT started_at, outcome::text FROM attempts WHERE endpoint_id = $1 ORDER BY started_at, number`,
      [ep.id],
    );
    assert.deepEqual(
      attempts.slice(0, 3).map((a) => a.outcome),
      ['retrying', 'retrying', 'retrying'],
    );
    // The probe: the first attempt after the circuit opened, not before the cool-down ended; it succeeded.
    const probe = attempts[3];
    assert.equal(probe.outcome, 'succeeded');
    const waited = probe.started_at.getTime() - (opened.opened_at as Date).getTime();
    assert.ok(waited >= COOLDOWN_MS - 50, `probe ${waited} ms after the circuit opened`);
    assert.equal(
      attempts.length,
      13,
      'three failures, then each delivery once: no attempt was spent while open',
    );
    assert.equal((await circuitOf(ep.id)).state, 'closed');

    const types = await waitFor('circuit events at the operational endpoint', async () => {
      const t = ops.requests.map((r) => (JSON.parse(r.body) as { type: string }).type);
      return t.includes('endpoint.circuit_closed') ? t : null;
    });
    assert.ok(types.includes('endpoint.circuit_opened'));
  });

  it('an endpoint failing with no success for ENDPOINT_DISABLE_AFTER_SECONDS (5 days) is disabled: reason failing', async () => {
    const { app, h, ops, rx } = await failingApplication('auto-disable', 503);
    const ep = await h.endpoint(rx.url);
    await h.emitMany(3);
    await waitFor('its attempts to mark it failing', async () => (await circuitOf(ep.id))?.failing_since);
    const early = await stack.api.request('GET', `/v1/endpoints/${ep.id}`, { key: app.key });
    assert.equal(early.body.disabled, false, 'failing for a moment is not enough');
    // The clock moves on: it has been failing for six days.
    await sql(
      stack.databaseUrl,
      `UPDATE endpoints SET failing_since = now() - interval '6 days' WHERE id = $1`,
      [ep.id],
    );
    const disabled = await waitFor('the endpoint to be disabled', async () => {
      const r = await stack.api.request('GET', `/v1/endpoints/${ep.id}`, { key: app.key });
      return r.body.disabled ? r.body : null;
    });
    assert.equal(disabled.disabledReason, 'failing');
    assert.deepEqual(await h.statusCounts(ep.id), { failed: 3 });
    await waitFor('endpoint.disabled at the operational endpoint', async () =>
      ops.requests.some((r) => (JSON.parse(r.body) as { type: string }).type === 'endpoint.disabled'),
    );
  });
});
