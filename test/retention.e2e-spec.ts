import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppConfig } from '@tern/config';
import { newId, RetentionRepository, RetentionService } from '@tern/core';
import { WorkerMetrics } from '@tern/observability';
import { ADMIN_KEY } from './support/api-harness';
import { sql } from './support/scratch-db';
import { TestStack } from './support/stack';

const DAY = 86_400_000;

interface SeedDelivery {
  status: 'pending' | 'succeeded' | 'failed';
  /** Days ago of each attempt. */
  attempts?: number[];
}

describe('retention', () => {
  let stack: TestStack;
  let config: AppConfig;
  let app: { id: string; key: string };
  /** One delivery per event and endpoint: the i-th delivery of a seeded event goes to the i-th endpoint. */
  const endpointIds: string[] = [];
  const now = Date.now();
  const ago = (days: number) => new Date(now - days * DAY);

  before(async () => {
    // No worker: the purge is run by hand, on a service built like the worker builds it.
    stack = await TestStack.start(
      'retention',
      { RETENTION_DAYS: '30', RETENTION_BATCH_SIZE: '2' },
      { worker: false },
    );
    config = stack.api.app.get(AppConfig);
    app = await stack.api.createApplication('retention');
    for (let i = 0; i < 3; i++) {
      const ep = await stack.api.request('POST', '/v1/endpoints', {
        key: app.key,
        body: { url: `https://example.com/hook${i}` },
      });
      endpointIds.push(ep.body.id);
    }
  });
  after(() => stack.stop());

  function service(overrides: Partial<AppConfig> = {}) {
    const metrics = new WorkerMetrics();
    const svc = new RetentionService(
      Object.assign(new AppConfig(), config, overrides),
      stack.api.app.get(RetentionRepository),
      metrics,
    );
    return { svc, metrics };
  }

  /** An event `days` old (ids carry the same time, as real ones do) with its deliveries and attempts. */
  async function seed(days: number, deliveries: SeedDelivery[]) {
    const at = ago(days);
    const eventId = newId('evt', at.getTime());
    await sql(
      stack.databaseUrl,
      `INSERT INTO events (id, application_id, event_type, payload, created_at) VALUES ($1, $2, 'old.thing', '{}', $3)`,
      [eventId, app.id, at],
    );
    const ids: { delivery: string; attempts: string[] }[] = [];
    for (const [k, d] of deliveries.entries()) {
      const endpointId = endpointIds[k];
      const deliveryId = newId('dlv', at.getTime());
      // A pending one is due tomorrow: nothing else would touch it.
      await sql(
        stack.databaseUrl,
        `INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, attempt_count,
                                 next_attempt_at, deadline_at, created_at, updated_at, completed_at)
         VALUES ($1, $2, $3, $4, 'old.thing', $5, $6, $7, now() + interval '2 days', $8, $8, $9)`,
        [
          deliveryId,
          app.id,
          eventId,
          endpointId,
          d.status,
          d.attempts?.length ?? 0,
          d.status === 'pending' ? new Date(now + DAY) : null,
          at,
          d.status === 'pending' ? null : at,
        ],
      );
      const attemptIds: string[] = [];
      for (const [i, a] of (d.attempts ?? []).entries()) {
        const id = newId('att', ago(a).getTime());
        attemptIds.push(id);
        await sql(
          stack.databaseUrl,
          `INSERT INTO attempts (id, delivery_id, application_id, endpoint_id, event_id, number, started_at, url,
                                 outcome, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'https://example.com/hook', 'failed', $7)`,
          [id, deliveryId, app.id, endpointId, eventId, i + 1, ago(a)],
        );
      }
      ids.push({ delivery: deliveryId, attempts: attemptIds });
    }
    return { eventId, deliveries: ids };
  }

  async function ids(table: 'events' | 'deliveries' | 'attempts'): Promise<string[]> {
    const rows = await sql<{ id: string }>(stack.databaseUrl, `SELECT id FROM ${table} ORDER BY id`);
    return rows.map((r) => r.id);
  }

  it('deletes old attempts, old events with their deliveries — nothing else', async () => {
    const oldest = await seed(40, [{ status: 'succeeded', attempts: [40, 40] }]);
    const keptPending = await seed(38, [
      { status: 'pending', attempts: [38] },
      { status: 'failed', attempts: [37] },
    ]);
    const oldFailed = await Promise.all(
      [31, 32, 33, 34, 35].map((d) => seed(d, [{ status: 'failed', attempts: [d] }])),
    );
    const young = await seed(29, [{ status: 'failed', attempts: [29, 20] }]);
    const recent = await seed(1, [
      { status: 'succeeded', attempts: [1] },
      { status: 'succeeded', attempts: [0.5] },
      { status: 'pending' },
    ]);

    const before = await stack.api.request('GET', '/v1/retention', { key: app.key });
    assert.equal(before.status, 200, JSON.stringify(before.body));
    assert.equal(before.body.retentionDays, 30);
    assert.equal(before.body.oldestEventAt, ago(40).toISOString());
    assert.equal(before.body.oldestAttemptAt, ago(40).toISOString());

    const { svc, metrics } = service();
    const result = await svc.runOnce(new Date(now));
    assert.deepEqual(result, { attempts: 9, events: 6 });

    // Events: the 40-day one and the five 31–35-day ones are gone; the pending one's event stays, however old.
    assert.deepEqual(await ids('events'), [keptPending.eventId, young.eventId, recent.eventId].sort());
    const deliveries = await ids('deliveries');
    for (const d of [...oldest.deliveries, ...oldFailed.flatMap((e) => e.deliveries)]) {
      assert.ok(!deliveries.includes(d.delivery), 'old deliveries go with their event');
    }
    for (const d of [...keptPending.deliveries, ...young.deliveries, ...recent.deliveries]) {
      assert.ok(deliveries.includes(d.delivery));
    }
    // Attempts older than 30 days are gone, whichever event they belong to.
    assert.deepEqual(
      await ids('attempts'),
      [
        ...young.deliveries[0].attempts,
        ...recent.deliveries[0].attempts,
        ...recent.deliveries[1].attempts,
      ].sort(),
    );
    const text = await metrics.text();
    assert.match(text, /tern_retention_deleted_total\{table="attempts"\} 9/);
    assert.match(text, /tern_retention_deleted_total\{table="events"\} 6/);

    const after = await stack.api.request('GET', '/v1/retention', { key: app.key });
    assert.deepEqual(after.body, {
      retentionDays: 30,
      oldestEventAt: ago(38).toISOString(),
      oldestAttemptAt: ago(29).toISOString(),
    });
    // A second pass finds nothing left to do.
    assert.deepEqual(await svc.runOnce(new Date(now)), { attempts: 0, events: 0 });
  });

  it('GET /v1/retention: any role; an application sees its own history, admin keys all of it', async () => {
    const other = await stack.api.createApplication('empty');
    const mine = await stack.api.request('GET', '/v1/retention', { key: other.key });
    assert.deepEqual(mine.body, { retentionDays: 30, oldestEventAt: null, oldestAttemptAt: null });
    const all = await stack.api.request('GET', '/v1/retention', { key: ADMIN_KEY });
    assert.equal(all.status, 200);
    assert.equal(all.body.retentionDays, 30);
    assert.ok(all.body.oldestEventAt, 'admin sees the other applications’ events');
    assert.equal((await stack.api.request('GET', '/v1/retention')).status, 401);
  });

  it('RETENTION_DAYS=0 keeps events and attempts forever', async () => {
    const ancient = await seed(400, [{ status: 'failed', attempts: [400] }]);
    const { svc } = service({ RETENTION_DAYS: 0 });
    assert.deepEqual(await svc.runOnce(new Date(now)), { attempts: 0, events: 0 });
    assert.ok((await ids('events')).includes(ancient.eventId));
    assert.ok((await ids('attempts')).includes(ancient.deliveries[0].attempts[0]));
    // With the default it goes.
    const { svc: purge } = service();
    const r = await purge.runOnce(new Date(now));
    assert.equal(r.events, 1);
    assert.ok(!(await ids('events')).includes(ancient.eventId));
  });
});
