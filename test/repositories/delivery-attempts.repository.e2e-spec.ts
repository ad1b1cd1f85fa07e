import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AppConfig } from '@tern/config';
import {
  AttemptRecord,
  ClaimedDelivery,
  DeferredClaim,
  DeliveryAttemptsRepository,
  ExpiredClaim,
  newId,
} from '@tern/core';
import { PrismaService } from '@tern/database';
import { createScratchDatabase, sql } from '../support/scratch-db';

/**
 * The claim and record statements against a real database (the middle tier: no API, no worker). Each case seeds
 * one delivery and drives the repository directly.
 */
describe('DeliveryAttemptsRepository: claim and record', () => {
  let url: string;
  let drop: () => Promise<void>;
  let prisma: PrismaService;
  let repo: DeliveryAttemptsRepository;
  let applicationId: string;
  let endpointId: string;
  const LOST_AFTER_MS = 60_000;

  before(async () => {
    ({ url, drop } = await createScratchDatabase('attempts_repo'));
    prisma = new PrismaService({ DATABASE_URL: url, DATABASE_POOL_SIZE: 2 } as AppConfig);
    repo = new DeliveryAttemptsRepository(prisma);
    [{ id: applicationId }] = await sql<{ id: string }>(
      url,
      `INSERT INTO applications (name) VALUES ('repo test') RETURNING id`,
    );
    [{ id: endpointId }] = await sql<{ id: string }>(
      url,
      `INSERT INTO endpoints (application_id, url) VALUES ($1, 'https://receiver.example.com/hook') RETURNING id`,
      [applicationId],
    );
  });
  after(async () => {
    await prisma?.$disconnect();
    await drop?.();
  });

  /** A pending delivery; `due` and `deadline` are offsets from now in ms. */
  async function pending(o: { dueInMs?: number; deadlineInMs?: number } = {}): Promise<string> {
    const eventId = newId('evt');
    const id = newId('dlv');
    await sql(
      url,
      `INSERT INTO events (id, application_id, event_type, payload) VALUES ($1, $2, 'a.b', '{"x":1}')`,
      [eventId, applicationId],
    );
    await sql(
      url,
      `INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, next_attempt_at,
                               deadline_at)
       VALUES ($1, $2, $3, $4, 'a.b', 'pending', now() + $5::int * interval '1 ms', now() + $6::int * interval '1 ms')`,
      [id, applicationId, eventId, endpointId, o.dueInMs ?? 0, o.deadlineInMs ?? 86_400_000],
    );
    return id;
  }

  async function claimOne(id: string, lostAfterMs = LOST_AFTER_MS) {
    const [c] = await repo.claim([id], lostAfterMs);
    return c;
  }

  function asClaimed(c: ClaimedDelivery | ExpiredClaim | DeferredClaim | null): ClaimedDelivery {
    assert.ok(c && 'claimToken' in c, `expected a claim, got ${JSON.stringify(c)}`);
    return c;
  }

  function result(c: ClaimedDelivery, outcome: AttemptRecord['outcome'] = 'succeeded'): AttemptRecord {
    return {
      deliveryId: c.deliveryId,
      applicationId: c.applicationId,
      endpointId: c.endpointId,
      eventId: c.eventId,
      number: c.attemptNumber,
      claimToken: c.claimToken,
      startedAt: new Date(),
      durationMs: 5,
      url: 'https://receiver.example.com/hook',
      requestHeaders: {},
      responseStatus: outcome === 'succeeded' ? 200 : 500,
      responseHeaders: {},
      responseBody: 'ok',
      errorClass: null,
      errorMessage: null,
      outcome,
      nextAttemptAt: outcome === 'retrying' ? new Date(Date.now() + 1000) : null,
      lastError: outcome === 'succeeded' ? null : 'http_500',
    };
  }

  async function row(id: string) {
    const [d] = await sql<{ status: string; attempt_count: number; in_flight: boolean }>(
      url,
      `SELECT status::text, attempt_count, in_flight_since IS NOT NULL AS in_flight FROM deliveries WHERE id = $1`,
      [id],
    );
    const attempts = await sql<{ number: number; outcome: string }>(
      url,
      `SELECT number, outcome::text FROM attempts WHERE delivery_id = $1 ORDER BY number, created_at`,
      [id],
    );
    return { ...d, attempts };
  }

  it('a second claim while an attempt is in flight (younger than the cutoff) is deferred, not a takeover', async () => {
    const id = await pending();
    asClaimed(await claimOne(id));
    const second = await claimOne(id);
    assert.ok(second && 'notBefore' in second, `expected deferred, got ${JSON.stringify(second)}`);
    const wait = second.notBefore.getTime() - Date.now();
    assert.ok(wait > LOST_AFTER_MS - 5000 && wait <= LOST_AFTER_MS, `notBefore ${wait} ms away`);
    const r = await row(id);
    assert.equal(r.attempt_count, 1, 'no second attempt numbered');
    assert.deepEqual(r.attempts, [], 'nothing logged as interrupted');
  });

  it('the same delivery twice in one claim batch is claimed once (the second waits)', async () => {
    const id = await pending();
    const [first, second] = await repo.claim([id, id], LOST_AFTER_MS);
    assert.equal(asClaimed(first).attemptNumber, 1);
    assert.ok(second && 'notBefore' in second, `expected deferred, got ${JSON.stringify(second)}`);
    assert.equal((await row(id)).attempt_count, 1);
  });

  it('past the cutoff a claim takes over and logs the previous attempt as interrupted', async () => {
    const id = await pending();
    asClaimed(await claimOne(id));
    const second = asClaimed(await claimOne(id, 0));
    assert.equal(second.attemptNumber, 2);
    assert.equal(second.previousInterrupted, true);
    assert.deepEqual((await row(id)).attempts, [{ number: 1, outcome: 'interrupted' }]);
  });

  it('a delivery not due yet (next_attempt_at ahead, e.g. Retry-After) is deferred until then', async () => {
    const id = await pending({ dueInMs: 30_000 });
    const c = await claimOne(id);
    assert.ok(c && 'notBefore' in c, `expected deferred, got ${JSON.stringify(c)}`);
    const wait = c.notBefore.getTime() - Date.now();
    assert.ok(wait > 25_000 && wait <= 30_000, `notBefore ${wait} ms away`);
    assert.equal((await row(id)).attempt_count, 0);
  });

  it('past its deadline: failed when nothing is in flight, deferred while an attempt is', async () => {
    const idle = await pending({ deadlineInMs: -1000 });
    const c = await claimOne(idle);
    assert.ok(c && 'expired' in c, `expected expired, got ${JSON.stringify(c)}`);
    assert.equal((await row(idle)).status, 'failed');

    const busy = await pending({ deadlineInMs: 300 });
    asClaimed(await claimOne(busy));
    await new Promise((r) => setTimeout(r, 400));
    const again = await claimOne(busy);
    assert.ok(again && 'notBefore' in again, `expected deferred, got ${JSON.stringify(again)}`);
    assert.equal((await row(busy)).status, 'pending', 'the attempt in flight still decides');
  });

  it('the result of the current claim moves the delivery on', async () => {
    const id = await pending();
    const c = asClaimed(await claimOne(id));
    assert.deepEqual(await repo.record([result(c)]), [true]);
    const r = await row(id);
    assert.equal(r.status, 'succeeded');
    assert.equal(r.in_flight, false);
  });

  it('a late result of an attempt superseded by a redelivery is logged and decides nothing', async () => {
    const id = await pending();
    const stale = asClaimed(await claimOne(id));
    // Meanwhile: the endpoint was disabled (delivery failed, attempt count kept) and a redelivery re-queued it.
    await sql(url, `UPDATE deliveries SET status = 'failed', completed_at = now() WHERE id = $1`, [id]);
    await sql(
      url,
      `UPDATE deliveries SET status = 'pending', next_attempt_at = now(), attempt_base = attempt_count,
              completed_at = NULL, in_flight_since = NULL WHERE id = $1`,
      [id],
    );
    assert.deepEqual(await repo.record([result(stale, 'failed')]), [false]);
    const r = await row(id);
    assert.equal(r.status, 'pending', 'the redelivery is still to be attempted');
    assert.deepEqual(r.attempts, [{ number: 1, outcome: 'failed' }], 'the late result is on record');
    const fresh = asClaimed(await claimOne(id));
    assert.equal(fresh.attemptNumber, 2);
  });
});
