import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AppConfig } from '@tern/config';
import {
  DeliveriesRepository,
  DeliveryAttemptsRepository,
  EndpointHeadersCipher,
  EndpointsRepository,
  EventsRepository,
  newId,
} from '@tern/core';
import { PrismaService } from '@tern/database';
import { Client } from 'pg';
import { releaseForTest } from '../support/release';
import { createScratchDatabase, sql } from '../support/scratch-db';
import { TEST_ENV } from '../support/test-env';

/**
 * The statements that write deliveries (delivery-writes.sql.ts) against a real database, driven through the
 * repositories that use them: fan-out, fail-on-disable, re-queue, single-delivery event.
 */
describe('delivery writes: fan-out, disable, re-queue (repositories on a real database)', () => {
  let url: string;
  let drop: () => Promise<void>;
  let prisma: PrismaService;
  const config = {
    DELIVERY_DEADLINE_SECONDS: 3600,
    ENDPOINT_RECOVERED_AFTER_FAILURES: 5,
    SECRETS_ENCRYPTION_KEY: TEST_ENV.SECRETS_ENCRYPTION_KEY,
    SECRETS_ENCRYPTION_KEY_VERSION: 1,
  } as AppConfig;
  let events: EventsRepository;
  let endpoints: EndpointsRepository;
  let deliveries: DeliveriesRepository;
  let attempts: DeliveryAttemptsRepository;
  let app: string;

  before(async () => {
    ({ url, drop } = await createScratchDatabase('delivery_writes'));
    prisma = new PrismaService({ DATABASE_URL: url, DATABASE_POOL_SIZE: 2 } as AppConfig);
    events = new EventsRepository(prisma);
    endpoints = new EndpointsRepository(prisma, config, new EndpointHeadersCipher(config));
    deliveries = new DeliveriesRepository(prisma);
    attempts = new DeliveryAttemptsRepository(prisma, config);
    [{ id: app }] = await sql<{ id: string }>(
      url,
      `INSERT INTO applications (name) VALUES ('w') RETURNING id`,
    );
  });
  after(async () => {
    await prisma?.$disconnect();
    await drop?.();
  });

  async function endpoint(extra: { eventTypes?: string[]; disabled?: boolean } = {}): Promise<string> {
    const [{ id }] = await sql<{ id: string }>(
      url,
      `INSERT INTO endpoints (application_id, url, event_types, disabled)
       VALUES ($1, 'https://r.example.com/', $2, $3) RETURNING id`,
      [app, extra.eventTypes ?? [], extra.disabled ?? false],
    );
    return id;
  }

  async function deliveryRows(eventId: string) {
    return sql<{ endpoint_id: string; status: string; releasable: boolean; deadline_s: number }>(
      url,
      `SELECT d.endpoint_id, d.status::text,
              (d.released_at IS NULL AND d.next_attempt_at <= now()) AS releasable,
              round(extract(epoch FROM d.deadline_at - e.created_at))::int AS deadline_s
       FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.event_id = $1 ORDER BY d.endpoint_id`,
      [eventId],
    );
  }

  it('fan-out: one pending, releasable delivery per enabled, live, subscribed endpoint; the deadline from the event', async () => {
    const all = await endpoint();
    const typed = await endpoint({ eventTypes: ['order.created'] });
    await endpoint({ eventTypes: ['other.type'] });
    await endpoint({ disabled: true });
    const id = newId('evt');
    const [written] = await events.insertWithDeliveries(
      [
        {
          id,
          applicationId: app,
          eventType: 'order.created',
          payloadJson: '{"b":1,"a":2}',
          idempotencyKey: null,
          priority: 'normal',
          partitionKey: null,
        },
      ],
      { deadlineSeconds: 7200 },
    );
    assert.equal(written.deliveryCount, 2);
    assert.deepEqual(
      await deliveryRows(id),
      [all, typed]
        .sort()
        .map((e) => ({ endpoint_id: e, status: 'pending', releasable: true, deadline_s: 7200 })),
    );
    const [{ payload }] = await sql<{ payload: string }>(url, `SELECT payload FROM events WHERE id = $1`, [
      id,
    ]);
    assert.equal(payload, '{"b":1,"a":2}', 'stored as sent');
  });

  it('disabling an endpoint fails its pending deliveries, one in flight included, and clears in_flight_since', async () => {
    const ep = await endpoint();
    const id = newId('evt');
    await events.insertWithDeliveries(
      [
        {
          id,
          applicationId: app,
          eventType: 't',
          payloadJson: '{}',
          idempotencyKey: null,
          priority: 'normal',
          partitionKey: null,
        },
      ],
      { deadlineSeconds: 3600 },
    );
    const [{ id: dlv }] = await sql<{ id: string }>(url, `SELECT id FROM deliveries WHERE endpoint_id = $1`, [
      ep,
    ]);
    const [claim] = await attempts.claim(await releaseForTest(url, [dlv]), 60_000);
    assert.ok(claim && 'claimToken' in claim, 'claimed: an attempt is in flight');
    assert.ok(await endpoints.disable(ep, 'test'));
    const [row] = await sql<{ status: string; last_error: string; in_flight: boolean }>(
      url,
      `SELECT status::text, last_error, in_flight_since IS NOT NULL AS in_flight FROM deliveries WHERE id = $1`,
      [dlv],
    );
    assert.deepEqual(row, { status: 'failed', last_error: 'endpoint_disabled', in_flight: false });

    // Re-enabled and redelivered: the redelivery is attempted now, not deferred behind the old attempt.
    await sql(url, `UPDATE endpoints SET disabled = false WHERE id = $1`, [ep]);
    const requeued = await deliveries.withLockedEndpoint({}, ep, (_e, tx) =>
      deliveries.requeueDelivery(tx, dlv, { deadlineSeconds: 3600 }),
    );
    assert.ok(requeued && 'row' in requeued && requeued.row.status === 'pending');
    const [{ releasable }] = await sql<{ releasable: boolean }>(
      url,
      `SELECT released_at IS NULL AND next_attempt_at <= now() AS releasable FROM deliveries WHERE id = $1`,
      [dlv],
    );
    assert.equal(releasable, true, 'releasable again: the dispatcher will release it');
    const [again] = await attempts.claim(await releaseForTest(url, [dlv]), 60_000);
    assert.ok(again && 'claimToken' in again, `claimed again, got ${JSON.stringify(again)}`);
  });

  it('deleting an endpoint locks its pending deliveries in id order: no deadlock with a claim holding the lower id', async () => {
    const ep = await endpoint();
    const [low, high] = [newId('dlv'), newId('dlv')].sort();
    // The higher id first on the heap and newest: a scan of the table, or of an endpoint index (created_at DESC),
    // meets it first.
    for (const [id, age] of [
      [high, '1 minute'],
      [low, '2 minutes'],
    ]) {
      const [{ ev }] = await sql<{ ev: string }>(
        url,
        `INSERT INTO events (application_id, event_type, payload) VALUES ($1, 't', '{}') RETURNING id AS ev`,
        [app],
      );
      await sql(
        url,
        `INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, deadline_at, created_at)
         VALUES ($1, $2, $3, $4, 't', now() + interval '1 day', now() - $5::interval)`,
        [id, app, ev, ep, age],
      );
    }
    // A worker's claim takes its job's deliveries in id order: it holds the lower one and wants the higher next.
    const claim = new Client({ connectionString: url });
    await claim.connect();
    try {
      await claim.query('BEGIN');
      await claim.query(`SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE`, [low]);
      const deleting = endpoints.softDelete(app, ep);
      const settled = deleting.then(
        (v) => ({ ok: true as const, v }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      // Until the delete waits on a row lock.
      for (let i = 0; ; i++) {
        const [{ n }] = await sql<{ n: number }>(
          url,
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE deliveries%'`,
        );
        if (n > 0) break;
        assert.ok(i < 200, 'the delete never waited on the claimed delivery');
        await new Promise((r) => setTimeout(r, 25));
      }
      // Without the id order the delete holds the higher row here and Postgres aborts one of the two (deadlock).
      await claim.query(`SET lock_timeout = '5s'`);
      await claim.query(`SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE`, [high]);
      await claim.query('COMMIT');
      const r = await settled;
      assert.ok(r.ok, `the delete failed: ${r.ok ? '' : String(r.e)}`);
      assert.equal(r.v, true);
      const rows = await sql<{ status: string }>(
        url,
        `SELECT status::text FROM deliveries WHERE endpoint_id = $1 ORDER BY id`,
        [ep],
      );
      assert.deepEqual(
        rows.map((x) => x.status),
        ['failed', 'failed'],
      );
    } finally {
      await claim.end();
    }
  });

  it('requeueFailed takes failed deliveries in [since, until), oldest first, up to max, and says where to go on', async () => {
    const ep = await endpoint();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = newId('evt');
      ids.push(id);
      await events.insertWithDeliveries(
        [
          {
            id,
            applicationId: app,
            eventType: 't',
            payloadJson: `{"i":${i}}`,
            idempotencyKey: null,
            priority: 'normal',
            partitionKey: null,
          },
        ],
        { deadlineSeconds: 3600 },
      );
    }
    await sql(url, `UPDATE deliveries SET status = 'failed', completed_at = now() WHERE endpoint_id = $1`, [
      ep,
    ]);
    const since = new Date(Date.now() - 60_000);
    const until = new Date(Date.now() + 1000);
    const r = await deliveries.withLockedEndpoint({}, ep, (_e, tx) =>
      deliveries.requeueFailed(tx, ep, since, until, 2, { deadlineSeconds: 3600 }),
    );
    assert.equal(r.requeued, 2);
    assert.ok(r.nextFrom instanceof Date);
    const rows = await sql<{ event_id: string; status: string }>(
      url,
      `SELECT event_id, status::text FROM deliveries WHERE endpoint_id = $1 ORDER BY created_at, id`,
      [ep],
    );
    assert.deepEqual(
      rows.map((x) => x.status),
      ['pending', 'pending', 'failed'],
    );
  });

  it('a single-delivery event (test send) goes to its endpoint whatever the type filter, releasable', async () => {
    const ep = await endpoint({ eventTypes: ['only.this'] });
    const id = newId('evt');
    const r = await deliveries.withLockedEndpoint({}, ep, (_e, tx) =>
      deliveries.insertSingleDeliveryEvent(
        tx,
        { id, applicationId: app, endpointId: ep, eventType: 'tern.test', payloadJson: '{"x":1}' },
        { deadlineSeconds: 600 },
      ),
    );
    assert.equal(r.eventId, id);
    assert.deepEqual(await deliveryRows(id), [
      { endpoint_id: ep, status: 'pending', releasable: true, deadline_s: 600 },
    ]);
  });
});
