import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { ApiHarness, fieldsOf } from './support/api-harness';
import { connectTestDb } from './support/scratch-db';

/** Per-tenant limits (issue #8 finding 5): endpoints per application, deliveries per request. */
describe('per-tenant limits', () => {
  let api: ApiHarness;
  let db: Client;

  before(async () => {
    api = await ApiHarness.start({ MAX_ENDPOINTS_PER_APPLICATION: '3', MAX_DELIVERIES_PER_REQUEST: '5' });
    db = await connectTestDb();
  });
  after(async () => {
    await db.end();
    await api.stop();
  });

  const createEndpoint = (key: string, n: number, eventTypes: string[] = []) =>
    api.request('POST', '/v1/endpoints', {
      key,
      body: { url: `https://example.com/hooks/${n}`, eventTypes },
    });

  async function count(sql: string, applicationId: string): Promise<number> {
    const { rows } = await db.query<{ n: number }>(sql, [applicationId]);
    return rows[0].n;
  }
  const liveEndpoints = (app: string) =>
    count(`SELECT count(*)::int AS n FROM endpoints WHERE application_id = $1 AND deleted_at IS NULL`, app);
  const events = (app: string) =>
    count(`SELECT count(*)::int AS n FROM events WHERE application_id = $1`, app);

  it('MAX_ENDPOINTS_PER_APPLICATION: one more is refused with 422 naming the limit; a deleted one frees a place', async () => {
    const app = await api.createApplication('endpoint cap');
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) {
      const r = await createEndpoint(app.key, n);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids.push(r.body.id);
    }
    const refused = await createEndpoint(app.key, 4);
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.deepEqual(fieldsOf(refused.body), ['application']);
    assert.match(JSON.stringify(refused.body), /MAX_ENDPOINTS_PER_APPLICATION \(3\)/);
    assert.equal(await liveEndpoints(app.id), 3, 'nothing written');

    assert.equal((await api.request('DELETE', `/v1/endpoints/${ids[0]}`, { key: app.key })).status, 204);
    assert.equal((await createEndpoint(app.key, 5)).status, 201);
    assert.equal(await liveEndpoints(app.id), 3);
  });

  it('concurrent creates never overshoot the cap', async () => {
    const app = await api.createApplication('endpoint cap race');
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => createEndpoint(app.key, n)));
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 422, 422, 422, 422, 422, 422, 422]);
    assert.equal(await liveEndpoints(app.id), 3);
  });

  it('MAX_DELIVERIES_PER_REQUEST: a batch fanning out past it gets 413 and writes nothing; one that fits is accepted', async () => {
    const app = await api.createApplication('delivery cap');
    for (let n = 1; n <= 3; n++) {
      assert.equal((await createEndpoint(app.key, n, ['order.created'])).status, 201);
    }
    const event = (i: number) => ({ eventType: 'order.created', payload: { i } });

    const refused = await api.request('POST', '/v1/events/batch', {
      key: app.key,
      body: { events: [event(1), event(2)] },
    });
    assert.equal(refused.status, 413, JSON.stringify(refused.body));
    assert.deepEqual(fieldsOf(refused.body), ['events']);
    assert.match(JSON.stringify(refused.body), /6 deliveries, above MAX_DELIVERIES_PER_REQUEST \(5\)/);
    assert.equal(await events(app.id), 0, 'nothing written');

    // Types nobody subscribes to create no deliveries, so they don't count.
    const fits = await api.request('POST', '/v1/events/batch', {
      key: app.key,
      body: { events: [event(3), { eventType: 'nobody.listens', payload: {} }] },
    });
    assert.equal(fits.status, 202, JSON.stringify(fits.body));
    assert.equal(await events(app.id), 2);
  });
});
