import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { EndpointSecretsService } from '@tern/core';
import { ApiHarness } from './support/api-harness';
import { connectTestDb } from './support/scratch-db';

describe('tenancy: endpoints and secrets are visible only to their application', () => {
  let api: ApiHarness;
  let db: Client;
  before(async () => {
    api = await ApiHarness.start();
    db = await connectTestDb();
  });
  after(async () => {
    await db.end();
    await api.stop();
  });

  /** Everything stored about an endpoint: its row, its secret rows, its deliveries. */
  async function snapshot(endpointId: string) {
    const ep = await db.query('SELECT * FROM endpoints WHERE id = $1', [endpointId]);
    const secrets = await db.query('SELECT * FROM endpoint_secrets WHERE endpoint_id = $1 ORDER BY id', [
      endpointId,
    ]);
    const deliveries = await db.query('SELECT * FROM deliveries WHERE endpoint_id = $1 ORDER BY id', [
      endpointId,
    ]);
    return { endpoint: ep.rows, secrets: secrets.rows, deliveries: deliveries.rows };
  }

  it("application A can neither read, list, update, delete, get the secret of, nor rotate B's endpoint", async () => {
    const a = await api.createApplication('A');
    const b = await api.createApplication('B');
    const own = await api.request('POST', '/v1/endpoints', {
      key: a.key,
      body: { url: 'https://a.example.com/' },
    });
    assert.equal(own.status, 201);
    const created = await api.request('POST', '/v1/endpoints', {
      key: b.key,
      body: {
        url: 'https://b.example.com/hooks',
        description: "B's",
        eventTypes: ['order.created'],
        headers: { 'X-B': 'b' },
      },
    });
    assert.equal(created.status, 201);
    const id: string = created.body.id;
    // A pending delivery of B's endpoint: A's disable or delete attempts must not fail it.
    const ev = await db.query<{ id: string }>(
      `INSERT INTO events (application_id, event_type, payload) VALUES ($1, 'order.created', '{}') RETURNING id`,
      [b.id],
    );
    await db.query(
      `INSERT INTO deliveries (application_id, event_id, endpoint_id, event_type, next_attempt_at, deadline_at)
       VALUES ($1, $2, $3, 'order.created', now() + interval '1 hour', now() + interval '1 day')`,
      [b.id, ev.rows[0].id, id],
    );
    const viewBefore = (await api.request('GET', `/v1/endpoints/${id}`, { key: b.key })).body;
    const secretBefore = (await api.request('GET', `/v1/endpoints/${id}/secret`, { key: b.key })).body;
    const stored = await snapshot(id);

    const unknownId = 'ep_00000000000000000000000000ff';
    const attempts: [string, string, unknown][] = [
      ['GET', `/v1/endpoints/${id}`, undefined],
      ['PATCH', `/v1/endpoints/${id}`, { description: 'pwned' }],
      ['PATCH', `/v1/endpoints/${id}`, { disabled: true, disabledReason: 'by A' }],
      ['PATCH', `/v1/endpoints/${id}`, { url: 'https://attacker.example.com/' }],
      ['DELETE', `/v1/endpoints/${id}`, undefined],
      ['GET', `/v1/endpoints/${id}/secret`, undefined],
      ['POST', `/v1/endpoints/${id}/secret/rotate`, undefined],
      [
        'POST',
        `/v1/endpoints/${id}/secret/rotate`,
        { secret: 'whsec_' + Buffer.alloc(32, 7).toString('base64') },
      ],
    ];
    for (const [method, path, body] of attempts) {
      const r = await api.request(method, path, { key: a.key, body });
      assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, 'not_found');
      // Indistinguishable from an id that does not exist at all.
      const ghost = await api.request(method, path.replace(id, unknownId), { key: a.key, body });
      assert.equal(ghost.status, 404);
      assert.equal(r.body.message, ghost.body.message.replace(unknownId, id));
    }

    const list = await api.request('GET', '/v1/endpoints?limit=1000', { key: a.key });
    assert.deepEqual(
      list.body.data.map((e: { id: string }) => e.id),
      [own.body.id],
    );

    // B's endpoint is exactly as it was, and B still sees it.
    assert.deepEqual(await snapshot(id), stored);
    assert.deepEqual((await api.request('GET', `/v1/endpoints/${id}`, { key: b.key })).body, viewBefore);
    assert.deepEqual(
      (await api.request('GET', `/v1/endpoints/${id}/secret`, { key: b.key })).body,
      secretBefore,
    );
    assert.deepEqual(await api.app.get(EndpointSecretsService).signingSecrets(id), [created.body.secret]);
    const bList = await api.request('GET', '/v1/endpoints', { key: b.key });
    assert.deepEqual(
      bList.body.data.map((e: { id: string }) => e.id),
      [id],
    );
  });

  it("B's endpoint stays hidden from A after B deletes it, and A cannot reach it by cursor tricks", async () => {
    const a = await api.createApplication('A');
    const b = await api.createApplication('B');
    const mine = [];
    for (let i = 0; i < 3; i++) {
      mine.push(
        (
          await api.request('POST', '/v1/endpoints', {
            key: a.key,
            body: { url: `https://a.example.com/${i}` },
          })
        ).body.id,
      );
    }
    const theirs = (
      await api.request('POST', '/v1/endpoints', { key: b.key, body: { url: 'https://b.example.com/' } })
    ).body;
    // A cursor pointing at B's endpoint only pages through A's own endpoints.
    const cursor = Buffer.from(
      `${new Date(Date.parse(theirs.createdAt) + 60_000).toISOString()}|${theirs.id}`,
    ).toString('base64url');
    const paged = await api.request('GET', `/v1/endpoints?cursor=${cursor}`, { key: a.key });
    assert.equal(paged.status, 200);
    assert.deepEqual(
      paged.body.data.map((e: { id: string }) => e.id),
      [...mine].reverse(),
    );
    assert.equal((await api.request('DELETE', `/v1/endpoints/${theirs.id}`, { key: b.key })).status, 204);
    assert.equal((await api.request('GET', `/v1/endpoints/${theirs.id}`, { key: a.key })).status, 404);
    assert.equal((await api.request('GET', `/v1/endpoints/${theirs.id}`, { key: b.key })).status, 404);
  });
});
