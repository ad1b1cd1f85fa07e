import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppConfig } from '@tern/config';
import type { SendRequest, SendResult } from '@tern/delivery-http';
import { Webhook } from 'standardwebhooks';
import type { EndpointsService } from '../endpoints/endpoints.service';
import type { DispatcherService } from '../dispatch/dispatcher.service';
import type { AttemptSender } from './attempt-sender';
import type {
  AttemptRecord,
  ClaimedDelivery,
  DeliveryAttemptsRepository,
  RecordResult,
} from './delivery-attempts.repository';
import type { DeliveryObserver } from './delivery-observer';
import { DeliveryService } from './delivery.service';
import type { CachedEndpoint, EndpointConfigCache } from './endpoint-config-cache';

/**
 * DeliveryService's orchestration with its I/O replaced (the claim and record statements, the endpoint cache, the
 * HTTP sender): what it sends, what it records, what it returns. The statements themselves are tested
 * on a real database (test/repositories), the sender against loopback receivers (webhook-sender.spec.ts).
 */
const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
const CONFIG = {
  DELIVERY_ATTEMPT_TIMEOUT_MS: 1000,
  RECONCILER_GRACE_MS: 1000,
  RETRY_BASE_DELAY_MS: 1000,
  RETRY_MAX_DELAY_MS: 60_000,
  RETRY_JITTER: 0,
  RECORD_RETRY_BASE_DELAY_MS: 1,
  RECORD_RETRY_MAX_DELAY_MS: 5,
} as AppConfig;

function endpoint(over: Partial<CachedEndpoint['config']> = {}): CachedEndpoint {
  return {
    config: {
      id: 'ep_1',
      applicationId: 'app_1',
      url: 'https://receiver.example.com/hook',
      kind: 'standard',
      headers: { Authorization: 'Bearer receiver-credential' },
      disabled: false,
      deleted: false,
      rateLimitPerSecond: null,
      ...over,
    },
    secrets: [SECRET],
  };
}

function claim(): ClaimedDelivery {
  return {
    deliveryId: 'dlv_1',
    applicationId: 'app_1',
    endpointId: 'ep_1',
    eventId: 'evt_1',
    eventType: 'order.created',
    eventCreatedAt: new Date('2026-12-06T10:00:00.000Z'),
    payloadJson: '{"orderId":42, "total":"19.99"}',
    attemptNumber: 1,
    attemptBase: 0,
    deadlineAt: new Date(Date.now() + 86_400_000),
    previousInterrupted: false,
    dueAt: null,
    claimToken: 'token',
  };
}

function harness(o: {
  endpoint?: CachedEndpoint | null;
  answer?: (req: SendRequest) => SendResult | Promise<SendResult>;
  recordFailures?: Error[];
}) {
  const sent: SendRequest[] = [];
  const recorded: AttemptRecord[] = [];
  const failedWithout: [string, string][] = [];
  const disabled: string[] = [];
  const invalidated: string[] = [];
  const failures = [...(o.recordFailures ?? [])];
  const repo = {
    claim: async (items: unknown[]) => items.map(() => claim()),
    record: async (rs: AttemptRecord[]): Promise<RecordResult> => {
      const f = failures.shift();
      if (f) throw f;
      recorded.push(...rs);
      return { applied: rs.map(() => true), operationalEvents: [] };
    },
    failWithoutAttempt: async (ids: string[], reason: string) => {
      for (const id of ids) failedWithout.push([id, reason]);
    },
  } as unknown as DeliveryAttemptsRepository;
  const cache = {
    get: async () => (o.endpoint === undefined ? endpoint() : o.endpoint),
    invalidate: (id: string) => invalidated.push(id),
  } as unknown as EndpointConfigCache;
  const endpoints = {
    disableForGone: async (id: string) => {
      disabled.push(id);
    },
  } as unknown as EndpointsService;
  const observer = new Proxy({}, { get: () => () => undefined }) as DeliveryObserver;
  const sender: AttemptSender = {
    send: async (req) => {
      sent.push(req);
      return (o.answer ?? (() => ({ statusCode: 200, durationMs: 3 })))(req);
    },
    close: async () => undefined,
  };
  let wakes = 0;
  const dispatcher = { wake: () => void wakes++ } as unknown as DispatcherService;
  const service = new DeliveryService(CONFIG, repo, cache, endpoints, observer, dispatcher, sender);
  return { service, sent, recorded, failedWithout, disabled, invalidated, wakes: () => wakes };
}

const released = (deliveryId: string) => ({ deliveryId, releaseToken: '2026-12-07 06:00:00.000+00' });
const job = { endpointId: 'ep_1', deliveries: [released('dlv_1')] };

describe('DeliveryService (its I/O replaced)', () => {
  it('sends the payload as stored, signed per Standard Webhooks, with the custom headers; logs their names only', async () => {
    const h = harness({});
    assert.deepEqual(await h.service.deliver(job), ['succeeded']);
    assert.equal(h.sent.length, 1);
    assert.equal(h.wakes(), 1, 'the dispatcher is woken: the credit is back');
    const req = h.sent[0];
    assert.equal(
      req.body,
      '{"type":"order.created","timestamp":"2026-12-06T10:00:00.000Z","data":{"orderId":42, "total":"19.99"}}',
    );
    assert.equal(req.headers.Authorization, 'Bearer receiver-credential');
    assert.equal(req.headers['webhook-id'], 'evt_1');
    new Webhook(SECRET).verify(req.body, req.headers); // throws if the signature does not verify
    const [r] = h.recorded;
    assert.equal(r.outcome, 'succeeded');
    assert.equal(r.requestHeaders.Authorization, '[redacted]');
    assert.match(r.requestHeaders['webhook-signature'], /^v1,\[redacted\]$/);
    assert.equal(r.nextAttemptAt, null);
  });

  it('a 500 is recorded retrying with its next attempt time (the retry waits in Postgres)', async () => {
    const h = harness({ answer: () => ({ statusCode: 500, durationMs: 2, responseBody: 'boom' }) });
    const before = Date.now();
    assert.deepEqual(await h.service.deliver(job), ['retrying']);
    const at = h.recorded[0].nextAttemptAt?.getTime() ?? 0;
    assert.ok(at >= before + 1000 - 50, `next attempt ${at - before} ms after`);
    assert.equal(h.recorded[0].outcome, 'retrying');
    assert.equal(h.recorded[0].lastError, 'http_500');
  });

  it('attempts every delivery of a job at once', async () => {
    const pending: ((r: SendResult) => void)[] = [];
    const h = harness({ answer: () => new Promise<SendResult>((resolve) => pending.push(resolve)) });
    const run = h.service.deliver({ endpointId: 'ep_1', deliveries: [released('dlv_1'), released('dlv_2')] });
    while (h.sent.length < 2) await new Promise((r) => setImmediate(r));
    assert.equal(h.service.inFlightFor('ep_1'), 2);
    for (const answer of pending) answer({ statusCode: 204, durationMs: 1 });
    assert.deepEqual(await run, ['succeeded', 'succeeded']);
    assert.equal(h.service.inFlightFor('ep_1'), 0);
  });

  it('a 410 disables the endpoint and drops it from the cache', async () => {
    const h = harness({ answer: () => ({ statusCode: 410, durationMs: 2 }) });
    assert.deepEqual(await h.service.deliver(job), ['failed']);
    assert.deepEqual(h.disabled, ['ep_1']);
    assert.deepEqual(h.invalidated, ['ep_1']);
  });

  it('a disabled or deleted endpoint fails the delivery without an attempt (nothing sent)', async () => {
    for (const [ep, reason] of [
      [endpoint({ disabled: true }), 'endpoint_disabled'],
      [endpoint({ deleted: true }), 'endpoint_deleted'],
      [null, 'endpoint_deleted'],
    ] as const) {
      const h = harness({ endpoint: ep });
      assert.deepEqual(await h.service.deliver(job), ['skipped']);
      assert.deepEqual(h.failedWithout, [['dlv_1', reason]]);
      assert.equal(h.sent.length, 0);
    }
  });

  it('a delivery this process is already attempting is skipped, not sent twice', async () => {
    let answer!: (r: SendResult) => void;
    const h = harness({ answer: () => new Promise<SendResult>((resolve) => (answer = resolve)) });
    const first = h.service.deliver(job);
    while (h.sent.length === 0) await new Promise((r) => setImmediate(r));
    assert.deepEqual(await h.service.deliver(job), ['skipped']);
    answer({ statusCode: 204, durationMs: 1 });
    assert.deepEqual(await first, ['succeeded']);
    assert.equal(h.sent.length, 1);
  });

  it('a result whose write hits an unavailable database is written again, not failed', async () => {
    const unavailable = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
    const h = harness({ recordFailures: [unavailable, unavailable] });
    assert.deepEqual(await h.service.deliver(job), ['succeeded']);
    assert.equal(h.recorded.length, 1);
    assert.equal(h.sent.length, 1, 'sent once: only the write was retried');
  });
});
