import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY, ApiHarness } from './support/api-harness';

describe('applications and API keys', () => {
  let api: ApiHarness;
  before(async () => {
    api = await ApiHarness.start();
  });
  after(async () => {
    await api.stop();
  });

  it('lets the admin create an application whose key is shown once and works', async () => {
    const r = await api.request('POST', '/v1/applications', { key: ADMIN_KEY, body: { name: 'Acme' } });
    assert.equal(r.status, 201);
    assert.match(r.body.id, /^app_[0-9a-f]{28}$/);
    assert.match(r.body.apiKey.key, /^tern_key_[0-9a-f]{28}\.[A-Za-z0-9_-]{43}$/);
    const keys = await api.request('GET', `/v1/applications/${r.body.id}/api-keys`, { key: ADMIN_KEY });
    assert.equal(keys.status, 200);
    assert.equal(keys.body.data.length, 1);
    assert.ok(!JSON.stringify(keys.body).includes(r.body.apiKey.key.split('.')[1]));
  });

  it('rejects missing, malformed and wrong keys with 401, and application keys on admin routes with 403', async () => {
    assert.equal((await api.request('GET', '/v1/applications')).status, 401);
    assert.equal((await api.request('GET', '/v1/applications', { key: 'nope' })).status, 401);
    const app = await api.createApplication();
    const forged = app.key.slice(0, -4) + (app.key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assert.equal((await api.request('GET', '/v1/applications', { key: forged })).status, 401);
    assert.equal((await api.request('GET', '/v1/applications', { key: app.key })).status, 403);
  });

  it('stops accepting a revoked key', async () => {
    const app = await api.createApplication();
    const second = await api.request('POST', `/v1/applications/${app.id}/api-keys`, {
      key: ADMIN_KEY,
      body: { name: 'x' },
    });
    assert.equal(second.status, 201);
    const rev = await api.request('POST', `/v1/applications/${app.id}/api-keys/${second.body.id}/revoke`, {
      key: ADMIN_KEY,
    });
    assert.deepEqual(rev.body, { revoked: true });
    assert.equal((await api.request('GET', '/v1/applications', { key: second.body.key })).status, 401);
  });

  it('answers bad input with a JSON error naming each field, and malformed JSON with 400', async () => {
    const r = await api.request('POST', '/v1/applications', { key: ADMIN_KEY, body: { name: '', extra: 1 } });
    assert.equal(r.status, 422);
    assert.equal(r.body.error, 'validation_failed');
    const fields = (r.body.fields as { field: string }[]).map((f) => f.field).sort();
    assert.deepEqual([...new Set(fields)], ['extra', 'name']);
    const bad = await api.request('POST', '/v1/applications', { key: ADMIN_KEY, rawBody: '{"name":' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'bad_request');
  });

  it('serves health, readiness and the OpenAPI document', async () => {
    assert.deepEqual((await api.request('GET', '/healthz')).body, { status: 'ok' });
    const ready = await api.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.details.postgres.status, 'up');
    assert.equal(ready.body.details.redis.status, 'up');
    const doc = await api.request('GET', '/openapi.json');
    assert.equal(doc.status, 200);
    assert.ok(Object.keys(doc.body.paths).includes('/v1/applications'));
  });
});
