import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { DeliveryHelpers } from './support/delivery-helpers';
import { TestReceivers } from './support/receiver';
import { sql, waitFor } from './support/scratch-db';
import { TestStack } from './support/stack';

interface DeliveryRow {
  id: string;
  status: string;
  attempt_count: number;
  last_error: string | null;
  last_status_code: number | null;
}
interface AttemptRow {
  number: number;
  outcome: string;
  response_status: number | null;
  error_class: string | null;
  started_at: Date;
  request_headers: Record<string, string>;
}

describe('delivery engine', () => {
  let stack: TestStack;
  let key: string;
  let h: DeliveryHelpers;
  const receivers = new TestReceivers();

  before(async () => {
    stack = await TestStack.start('delivery');
    key = (await stack.api.createApplication('delivery')).key;
    h = new DeliveryHelpers(stack.api, key, stack.databaseUrl);
  });
  after(async () => {
    await stack.stop();
    await receivers.closeAll();
  });

  const receiver = () => receivers.start();
  const endpoint = (url: string, extra?: Record<string, unknown>) => h.endpoint(url, extra);
  const emit = (eventType?: string, payload?: Record<string, unknown>) => h.emit(eventType, payload);
  async function deliveryOf(eventId: string, endpointId: string): Promise<DeliveryRow> {
    const [d] = await sql<DeliveryRow>(
      stack.databaseUrl,
      'SELECT id, status, attempt_count, last_error, last_status_code FROM deliveries WHERE event_id = $1 AND endpoint_id = $2',
      [eventId, endpointId],
    );
    return d;
  }
  async function settled(eventId: string, endpointId: string, timeoutMs = 20_000): Promise<DeliveryRow> {
    return waitFor(
      `delivery of ${eventId} to settle`,
      async () => {
        const d = await deliveryOf(eventId, endpointId);
        return d && d.status !== 'pending' ? d : null;
      },
      timeoutMs,
    );
  }
  async function attempts(deliveryId: string): Promise<AttemptRow[]> {
    return sql<AttemptRow>(
      stack.databaseUrl,
      'SELECT number, outcome, response_status, error_class, started_at, request_headers FROM attempts WHERE delivery_id = $1 ORDER BY number',
      [deliveryId],
    );
  }

  it('500, 500, 200 → three attempts, succeeded, same webhook-id, valid signatures', async () => {
    const rx = (await receiver()).reply(500, 500, 200);
    const ep = await endpoint(rx.url, { headers: { 'x-api-key': 'receiver-credential' } });
    const evt = await emit('order.created', { total: 42, nested: { a: [1, 2] } });
    const d = await settled(evt, ep.id);
    assert.equal(d.status, 'succeeded');
    const att = await attempts(d.id);
    assert.deepEqual(
      att.map((a) => [a.number, a.outcome, a.response_status]),
      [
        [1, 'retrying', 500],
        [2, 'retrying', 500],
        [3, 'succeeded', 200],
      ],
    );
    assert.equal(rx.requests.length, 3);
    const wh = new Webhook(ep.secret);
    for (const req of rx.requests) {
      assert.equal(req.headers['webhook-id'], evt);
      assert.equal(req.headers['content-type'], 'application/json');
      assert.match(String(req.headers['user-agent']), /^Tern\/\d+\.\d+\.\d+/);
      const verified = wh.verify(req.body, req.headers as Record<string, string>) as Record<string, any>;
      assert.equal(verified.type, 'order.created');
      assert.deepEqual(verified.data, { total: 42, nested: { a: [1, 2] } });
    }
    // The signature is never stored; nor is a custom header's value (its name is), though the receiver got it.
    assert.match(att[0].request_headers['webhook-signature'], /^v1,\[redacted\]$/);
    assert.equal(rx.requests[0].headers['x-api-key'], 'receiver-credential');
    assert.equal(att[0].request_headers['x-api-key'], '[redacted]');
  });

  it('400 → one attempt, failed at once', async () => {
    const rx = (await receiver()).always(400);
    const ep = await endpoint(rx.url);
    const evt = await emit();
    const d = await settled(evt, ep.id);
    assert.equal(d.status, 'failed');
    assert.equal(d.last_status_code, 400);
    assert.equal((await attempts(d.id)).length, 1);
    assert.equal(rx.requests.length, 1);
  });

  it('429 with Retry-After → the next attempt is not before it', async () => {
    const rx = (await receiver()).reply({ status: 429, headers: { 'retry-after': '1' } }, 200);
    const ep = await endpoint(rx.url);
    const evt = await emit();
    const d = await settled(evt, ep.id);
    assert.equal(d.status, 'succeeded');
    assert.equal(rx.requests.length, 2);
    assert.ok(
      rx.requests[1].at - rx.requests[0].at >= 1000,
      `second attempt came after ${rx.requests[1].at - rx.requests[0].at} ms`,
    );
  });

  it('a receiver that never answers → timeout, retried', async () => {
    const rx = (await receiver()).reply('hang', 200);
    const ep = await endpoint(rx.url);
    const evt = await emit();
    const d = await settled(evt, ep.id);
    assert.equal(d.status, 'succeeded');
    const att = await attempts(d.id);
    assert.deepEqual(
      att.map((a) => [a.outcome, a.error_class]),
      [
        ['retrying', 'timeout'],
        ['succeeded', null],
      ],
    );
  });

  it('302 → failed, and the redirect target is never contacted', async () => {
    const target = await receiver();
    const rx = (await receiver()).always({ status: 302, headers: { location: target.url } });
    const ep = await endpoint(rx.url);
    const evt = await emit();
    const d = await settled(evt, ep.id);
    assert.equal(d.status, 'failed');
    assert.equal(rx.requests.length, 1);
    assert.equal(target.requests.length, 0);
  });

  it('410 → endpoint disabled with the reason, its pending deliveries failed', async () => {
    const rx = (await receiver()).always(410);
    const ep = await endpoint(rx.url);
    const first = await emit();
    const d = await settled(first, ep.id);
    assert.equal(d.status, 'failed');
    // The attempt is recorded first, then the endpoint is disabled (a separate step right after).
    const got = await waitFor('the endpoint to be disabled', async () => {
      const r = await stack.api.request('GET', `/v1/endpoints/${ep.id}`, { key });
      return r.body.disabled === true ? r : null;
    });
    assert.match(String(got.body.disabledReason), /410/);
    // A new event gets no delivery to the disabled endpoint.
    const second = await emit();
    assert.equal(await deliveryOf(second, ep.id), undefined);
  });

  it('past the deadline → failed without another attempt', async () => {
    const rx = (await receiver()).always(503);
    const ep = await endpoint(rx.url);
    const evt = await emit();
    await waitFor('first attempt', async () => rx.requests.length >= 1);
    await sql(stack.databaseUrl, `UPDATE deliveries SET deadline_at = now() WHERE event_id = $1`, [evt]);
    const d = await settled(evt, ep.id);
    assert.equal(d.status, 'failed');
    assert.match(String(d.last_error), /deadline_exceeded/);
    const n = rx.requests.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(rx.requests.length, n);
  });

  it('signs with both secrets during a rotation; each verifies with standardwebhooks', async () => {
    const rx = (await receiver()).always(200);
    const ep = await endpoint(rx.url);
    const rot = await stack.api.request('POST', `/v1/endpoints/${ep.id}/secret/rotate`, { key, body: {} });
    assert.equal(rot.status, 200, JSON.stringify(rot.body));
    const newSecret = rot.body.secret as string;
    const evt = await emit();
    const d = await settled(evt, ep.id);
    assert.equal(d.status, 'succeeded');
    const req = rx.requests[rx.requests.length - 1];
    assert.equal(String(req.headers['webhook-signature']).split(' ').length, 2);
    assert.ok(new Webhook(ep.secret).verify(req.body, req.headers as Record<string, string>));
    assert.ok(new Webhook(newSecret).verify(req.body, req.headers as Record<string, string>));
  });

  it('custom endpoint headers are sent', async () => {
    const rx = (await receiver()).always(200);
    const ep = await endpoint(rx.url, { headers: { 'x-tenant': 'acme' } });
    const evt = await emit();
    await settled(evt, ep.id);
    assert.equal(rx.requests[0].headers['x-tenant'], 'acme');
  });

  it('a redelivery starts a new series: numbers continue, the backoff starts over from the first delay', async () => {
    const rx = (await receiver()).always(400);
    const ep = await endpoint(rx.url);
    const evt = await emit();
    const first = await settled(evt, ep.id);
    assert.equal(first.status, 'failed');
    // Pretend the first series was long: 9 attempts made.
    await sql(stack.databaseUrl, 'UPDATE deliveries SET attempt_count = 9 WHERE id = $1', [first.id]);
    rx.reply(500).always(200);
    const r = await stack.api.request('POST', `/v1/deliveries/${first.id}/redeliver`, { key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const d = await settled(evt, ep.id);
    assert.equal(d.status, 'succeeded');
    const att = await attempts(d.id);
    assert.deepEqual(
      att.map((a) => [a.number, a.outcome]),
      [
        [1, 'failed'],
        [10, 'retrying'],
        [11, 'succeeded'],
      ],
    );
    // RETRY_BASE_DELAY_MS=200, RETRY_MAX_DELAY_MS=1000, no jitter (FAST_DELIVERY_ENV): attempt 10 is the new
    // series' first, so it waited the base delay, not the capped delay of a 10th attempt.
    const gap = att[2].started_at.getTime() - att[1].started_at.getTime();
    assert.ok(gap < 900, `retry came ${gap} ms after the first attempt of the new series`);
  });
});
