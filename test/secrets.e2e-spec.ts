import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import {
  decryptSecret,
  EndpointHeadersSealerService,
  EndpointSecretsRepository,
  EndpointSecretsService,
  parseKeyRing,
  SecretDecryptionError,
} from '@tern/core';
import { ApiHarness } from './support/api-harness';
import { connectTestDb } from './support/scratch-db';
import { TEST_ENV } from './support/test-env';

type App = { id: string; key: string };

const ownSecret = (bytes = 32) => 'whsec_' + randomBytes(bytes).toString('base64');

interface SecretRow {
  id: string;
  endpoint_id: string;
  key_version: number;
  ciphertext: Buffer;
  created_at: Date;
  expires_at: Date | null;
}

async function withDb<T>(fn: (db: Client) => Promise<T>): Promise<T> {
  const db = await connectTestDb();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

function secretRows(endpointId: string): Promise<SecretRow[]> {
  return withDb(async (db) => {
    const { rows } = await db.query<SecretRow>(
      'SELECT * FROM endpoint_secrets WHERE endpoint_id = $1 ORDER BY created_at, id',
      [endpointId],
    );
    return rows;
  });
}

function helpers(api: () => ApiHarness) {
  return {
    async createEndpoint(app: App, body: Record<string, unknown> = {}) {
      const r = await api().request('POST', '/v1/endpoints', {
        key: app.key,
        body: { url: 'https://example.com/hooks', ...body },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; secret: string };
    },
    async getSecret(app: App, id: string) {
      const r = await api().request('GET', `/v1/endpoints/${id}/secret`, { key: app.key });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as { secret: string; createdAt: string };
    },
    async rotate(app: App, id: string, body?: Record<string, unknown>) {
      return api().request('POST', `/v1/endpoints/${id}/secret/rotate`, { key: app.key, body });
    },
  };
}

describe('endpoint secrets', () => {
  let api: ApiHarness;
  const h = helpers(() => api);
  before(async () => {
    api = await ApiHarness.start();
  });
  after(async () => {
    await api.stop();
  });

  it('keeps the secret only encrypted: neither it nor its base64 part nor its bytes are in the row', async () => {
    const app = await api.createApplication();
    const ep = await h.createEndpoint(app);
    const b64 = ep.secret.slice('whsec_'.length);
    const raw = Buffer.from(b64, 'base64');
    assert.equal(raw.length, 32);
    const rows = await secretRows(ep.id);
    assert.equal(rows.length, 1);
    const [row] = rows;
    assert.match(row.id, /^whs_[0-9a-f]{28}$/);
    assert.equal(row.key_version, 1);
    assert.equal(row.expires_at, null);
    assert.ok(Buffer.isBuffer(row.ciphertext));
    assert.equal(row.ciphertext.length, 12 + 16 + ep.secret.length);
    for (const needle of [Buffer.from(ep.secret), Buffer.from(b64), raw, raw.subarray(0, 16)]) {
      assert.ok(!row.ciphertext.includes(needle));
    }
    const asText = await withDb(async (db) => {
      const { rows: t } = await db.query<{ t: string }>(
        `SELECT row_to_json(s)::text AS t FROM endpoint_secrets s WHERE endpoint_id = $1`,
        [ep.id],
      );
      return t[0].t;
    });
    for (const needle of [ep.secret, b64, raw.toString('hex')]) assert.ok(!asText.includes(needle));
    // The endpoint row and the views carry no secret either.
    const epText = await withDb(async (db) => {
      const { rows: t } = await db.query<{ t: string }>(
        `SELECT row_to_json(e)::text AS t FROM endpoints e WHERE id = $1`,
        [ep.id],
      );
      return t[0].t;
    });
    assert.ok(!epText.includes(b64));
    const view = await api.request('GET', `/v1/endpoints/${ep.id}`, { key: app.key });
    assert.ok(!JSON.stringify(view.body).includes(b64));
    const list = await api.request('GET', '/v1/endpoints', { key: app.key });
    assert.ok(!JSON.stringify(list.body).includes(b64));

    const got = await h.getSecret(app, ep.id);
    assert.equal(got.secret, ep.secret);
    assert.equal(got.createdAt, row.created_at.toISOString());
  });

  it('keeps custom headers only sealed (AES-256-GCM, bound to the endpoint); the owner still reads them', async () => {
    const app = await api.createApplication();
    const credential = 'Bearer ' + randomBytes(18).toString('hex');
    const a = await h.createEndpoint(app, { headers: { Authorization: credential, 'X-Tenant': 'acme-7' } });
    const b = await h.createEndpoint(app, { headers: { 'X-Other': 'b-value' } });
    const rowText = (id: string) =>
      withDb(async (db) => {
        const { rows } = await db.query<{ t: string; sealed: Buffer | null; v: number | null }>(
          `SELECT row_to_json(e)::text AS t, headers_sealed AS sealed, headers_key_version AS v
           FROM endpoints e WHERE id = $1`,
          [id],
        );
        return rows[0];
      });
    const row = await rowText(a.id);
    assert.ok(!row.t.includes(credential.slice(7)) && !row.t.includes('acme-7'), 'no header value in clear');
    assert.ok(row.sealed && !row.sealed.includes(Buffer.from(credential)));
    assert.equal(row.v, 1);
    const view = await api.request('GET', `/v1/endpoints/${a.id}`, { key: app.key });
    assert.deepEqual(view.body.headers, { Authorization: credential, 'X-Tenant': 'acme-7' });

    // A PATCH re-seals; removing every header stores nothing.
    const patched = await api.request('PATCH', `/v1/endpoints/${a.id}`, {
      key: app.key,
      body: { headers: { Authorization: 'Bearer rotated-credential' } },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.ok(!(await rowText(a.id)).t.includes('rotated-credential'));
    assert.deepEqual((await api.request('GET', `/v1/endpoints/${a.id}`, { key: app.key })).body.headers, {
      Authorization: 'Bearer rotated-credential',
    });
    await api.request('PATCH', `/v1/endpoints/${b.id}`, { key: app.key, body: { headers: {} } });
    assert.equal((await rowText(b.id)).sealed, null);

    // A's sealed headers copied into B's row don't open for B (associated data = purpose, endpoint, key version).
    await withDb((db) =>
      db.query(
        `UPDATE endpoints SET (headers_sealed, headers_key_version) =
           (SELECT headers_sealed, headers_key_version FROM endpoints WHERE id = $1) WHERE id = $2`,
        [a.id, b.id],
      ),
    );
    const r = await api.request('GET', `/v1/endpoints/${b.id}`, { key: app.key });
    assert.equal(r.status, 500);
    assert.match(r.body.message, /custom headers of endpoint .* cannot be decrypted/);
    assert.ok(!JSON.stringify(r.body).includes('rotated-credential'));
    await api.request('PATCH', `/v1/endpoints/${b.id}`, { key: app.key, body: { headers: {} } });
  });

  it('seals headers stored in clear before sealing existed, at boot (EndpointHeadersSealerService)', async () => {
    const app = await api.createApplication();
    const ep = await h.createEndpoint(app);
    await withDb((db) =>
      db.query(
        `UPDATE endpoints SET headers = '{"X-Legacy": "legacy-credential"}', headers_sealed = NULL,
                headers_key_version = NULL WHERE id = $1`,
        [ep.id],
      ),
    );
    const legacy = await api.request('GET', `/v1/endpoints/${ep.id}`, { key: app.key });
    assert.deepEqual(legacy.body.headers, { 'X-Legacy': 'legacy-credential' }, 'read from the legacy column');
    await api.app.get(EndpointHeadersSealerService).onApplicationBootstrap();
    const [row] = await withDb(
      async (db) =>
        (
          await db.query<{ t: string; v: number | null }>(
            `SELECT row_to_json(e)::text AS t, headers_key_version AS v FROM endpoints e WHERE id = $1`,
            [ep.id],
          )
        ).rows,
    );
    assert.ok(!row.t.includes('legacy-credential'));
    assert.equal(row.v, 1);
    const after = await api.request('GET', `/v1/endpoints/${ep.id}`, { key: app.key });
    assert.deepEqual(after.body.headers, { 'X-Legacy': 'legacy-credential' });
  });

  it("refuses to decrypt one endpoint's ciphertext copied into another endpoint's row", async () => {
    const app = await api.createApplication();
    const a = await h.createEndpoint(app);
    const b = await h.createEndpoint(app);
    await withDb((db) =>
      db.query(
        `UPDATE endpoint_secrets SET ciphertext = (SELECT ciphertext FROM endpoint_secrets WHERE endpoint_id = $1)
         WHERE endpoint_id = $2`,
        [a.id, b.id],
      ),
    );

    // Cipher + repository, directly: the copied row holds A's blob, which opens only for A.
    const repo = api.app.get(EndpointSecretsRepository);
    const ring = parseKeyRing(TEST_ENV.SECRETS_ENCRYPTION_KEY, 1);
    const rowA = await repo.findCurrent(app.id, a.id);
    const rowB = await repo.findCurrent(app.id, b.id);
    assert.ok(rowA && rowB);
    assert.ok(rowB.ciphertext.equals(rowA.ciphertext));
    assert.equal(decryptSecret(ring, a.id, rowA.keyVersion, rowA.ciphertext), a.secret);
    assert.throws(() => decryptSecret(ring, b.id, rowB.keyVersion, rowB.ciphertext), SecretDecryptionError);

    // The service raises a clear error naming the endpoint (and never returns A's secret for B).
    const service = api.app.get(EndpointSecretsService);
    const isClear = (e: unknown) =>
      e instanceof SecretDecryptionError &&
      e.endpointId === b.id &&
      /cannot be decrypted/.test(e.message) &&
      !e.message.includes(a.secret);
    await assert.rejects(service.get(app.id, b.id), isClear);
    await assert.rejects(service.signingSecrets(b.id), isClear);
    assert.deepEqual(await service.signingSecrets(a.id), [a.secret]);

    // Over HTTP it is a server-side fault with that explanation, not a generic error, and A's secret never leaks.
    const r = await api.request('GET', `/v1/endpoints/${b.id}/secret`, { key: app.key });
    assert.equal(r.status, 500);
    assert.match(r.body.message, /cannot be decrypted/);
    assert.ok(!JSON.stringify(r.body).includes(a.secret.slice(6)));
    assert.equal((await h.getSecret(app, a.id)).secret, a.secret);
  });

  it('rotates: the new secret is current, the old one keeps signing for the overlap', async () => {
    const app = await api.createApplication();
    const ep = await h.createEndpoint(app);
    const service = api.app.get(EndpointSecretsService);
    assert.deepEqual(await service.signingSecrets(ep.id), [ep.secret]);

    const started = Date.now();
    const r = await h.rotate(app, ep.id);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(r.body.secret, ep.secret);
    assert.deepEqual(Object.keys(r.body).sort(), ['createdAt', 'secret']);
    assert.deepEqual(await h.getSecret(app, ep.id), r.body);
    assert.deepEqual(await service.signingSecrets(ep.id), [r.body.secret, ep.secret]);

    const rows = await secretRows(ep.id);
    assert.equal(rows.length, 2);
    const old = rows.find((x) => x.expires_at !== null);
    assert.ok(old);
    const overlapMs = old.expires_at!.getTime() - started;
    assert.ok(overlapMs > 86_390_000 && overlapMs < 86_410_000, `overlap ${overlapMs} ms`);

    // After the overlap the old one no longer signs; a second rotation keeps both previous ones until they expire.
    assert.deepEqual(await service.signingSecrets(ep.id, new Date(started + 86_410_000)), [r.body.secret]);
    const third = await h.rotate(app, ep.id, {});
    assert.equal(third.status, 200);
    assert.deepEqual(await service.signingSecrets(ep.id), [third.body.secret, r.body.secret, ep.secret]);
  });

  it('accepts a customer-provided secret on create and rotate, and refuses invalid ones with 422', async () => {
    const app = await api.createApplication();
    const mine = ownSecret(24);
    const ep = await h.createEndpoint(app, { secret: mine });
    assert.equal(ep.secret, mine);
    assert.equal((await h.getSecret(app, ep.id)).secret, mine);

    const next = ownSecret(64);
    const r = await h.rotate(app, ep.id, { secret: next });
    assert.equal(r.status, 200);
    assert.equal(r.body.secret, next);
    assert.equal((await h.getSecret(app, ep.id)).secret, next);
    assert.deepEqual(await api.app.get(EndpointSecretsService).signingSecrets(ep.id), [next, mine]);

    const rowsBefore = await secretRows(ep.id);
    const bad = [
      ownSecret(16),
      ownSecret(65),
      randomBytes(32).toString('base64'),
      'whsec_',
      'whsec_!!!not-base64!!!',
      'whsec_' + randomBytes(32).toString('base64url'),
      'WHSEC_' + randomBytes(32).toString('base64'),
    ];
    for (const secret of bad) {
      const c = await api.request('POST', '/v1/endpoints', {
        key: app.key,
        body: { url: 'https://example.com/', secret },
      });
      assert.equal(c.status, 422, secret);
      assert.deepEqual(
        c.body.fields.map((f: { field: string }) => f.field),
        ['secret'],
      );
      if (secret.length > 10) {
        assert.ok(!JSON.stringify(c.body).includes(secret), 'the rejected secret is not echoed');
      }
      const rot = await h.rotate(app, ep.id, { secret });
      assert.equal(rot.status, 422, secret);
      assert.deepEqual(
        rot.body.fields.map((f: { field: string }) => f.field),
        ['secret'],
      );
    }
    for (const body of [{ secret: 42 }, { secret: null }, { other: 1 }]) {
      const rot = await h.rotate(app, ep.id, body);
      assert.equal(rot.status, 422, JSON.stringify(body));
    }
    assert.deepEqual(await secretRows(ep.id), rowsBefore);
    assert.equal((await h.getSecret(app, ep.id)).secret, next);
    const count = await withDb(async (db) => {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM endpoints WHERE application_id = $1',
        [app.id],
      );
      return rows[0].n;
    });
    assert.equal(count, 1);
  });

  it('answers 404 for secrets of unknown or deleted endpoints', async () => {
    const app = await api.createApplication();
    const ep = await h.createEndpoint(app);
    await api.request('DELETE', `/v1/endpoints/${ep.id}`, { key: app.key });
    for (const id of [ep.id, 'ep_00000000000000000000000000ff', 'nope']) {
      assert.equal((await api.request('GET', `/v1/endpoints/${id}/secret`, { key: app.key })).status, 404);
      assert.equal((await h.rotate(app, id)).status, 404);
    }
  });
});

describe('endpoint secrets with SECRET_ROTATION_OVERLAP_SECONDS=0', () => {
  let api: ApiHarness;
  const h = helpers(() => api);
  before(async () => {
    api = await ApiHarness.start({
      SECRET_ROTATION_OVERLAP_SECONDS: '0',
      SECRETS_ENCRYPTION_KEY_VERSION: '1',
      SECRETS_ENCRYPTION_PREVIOUS_KEYS: '',
    });
  });
  after(async () => {
    await api.stop();
  });

  it('signs only with the new secret right after a rotation, and drops the old row', async () => {
    const app = await api.createApplication();
    const ep = await h.createEndpoint(app);
    const r = await h.rotate(app, ep.id);
    assert.equal(r.status, 200);
    assert.deepEqual(await api.app.get(EndpointSecretsService).signingSecrets(ep.id), [r.body.secret]);
    assert.equal((await h.getSecret(app, ep.id)).secret, r.body.secret);
    const rows = await secretRows(ep.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].expires_at, null);
  });
});

describe('endpoint secrets after a master key rotation', () => {
  const newKey = randomBytes(32).toString('base64');

  it('decrypts rows of the previous key version and encrypts new ones under the current one', async () => {
    const v1 = await ApiHarness.start({
      SECRET_ROTATION_OVERLAP_SECONDS: '86400',
      SECRETS_ENCRYPTION_KEY_VERSION: '1',
      SECRETS_ENCRYPTION_PREVIOUS_KEYS: '',
    });
    let app: App;
    let ep: { id: string; secret: string };
    try {
      app = await v1.createApplication();
      ep = await helpers(() => v1).createEndpoint(app, { headers: { Authorization: 'Bearer v1-sealed' } });
    } finally {
      await v1.stop();
    }

    const v2 = await ApiHarness.start({
      SECRET_ROTATION_OVERLAP_SECONDS: '86400',
      SECRETS_ENCRYPTION_KEY: newKey,
      SECRETS_ENCRYPTION_KEY_VERSION: '2',
      SECRETS_ENCRYPTION_PREVIOUS_KEYS: `1:${TEST_ENV.SECRETS_ENCRYPTION_KEY}`,
    });
    try {
      const h = helpers(() => v2);
      assert.equal((await h.getSecret(app, ep.id)).secret, ep.secret);
      // Headers sealed under version 1 still open (the previous key), and are re-sealed under 2 when written.
      const view = await v2.request('GET', `/v1/endpoints/${ep.id}`, { key: app.key });
      assert.deepEqual(view.body.headers, { Authorization: 'Bearer v1-sealed' });
      const version = async () => {
        const [row] = await withDb(
          async (db) =>
            (
              await db.query<{ v: number }>(`SELECT headers_key_version AS v FROM endpoints WHERE id = $1`, [
                ep.id,
              ])
            ).rows,
        );
        return row.v;
      };
      assert.equal(await version(), 1);
      await v2.request('PATCH', `/v1/endpoints/${ep.id}`, {
        key: app.key,
        body: { headers: { Authorization: 'Bearer v2-sealed' } },
      });
      assert.equal(await version(), 2);
      const r = await h.rotate(app, ep.id);
      assert.equal(r.status, 200);
      const rows = await secretRows(ep.id);
      assert.deepEqual(rows.map((x) => x.key_version).sort(), [1, 2]);
      assert.deepEqual(await v2.app.get(EndpointSecretsService).signingSecrets(ep.id), [
        r.body.secret,
        ep.secret,
      ]);
    } finally {
      await v2.stop();
    }

    // Without the previous key, the old row no longer opens: a clear error, not a wrong secret.
    const noPrevious = await ApiHarness.start({
      SECRETS_ENCRYPTION_KEY: newKey,
      SECRETS_ENCRYPTION_KEY_VERSION: '2',
      SECRETS_ENCRYPTION_PREVIOUS_KEYS: '',
    });
    try {
      await assert.rejects(
        noPrevious.app.get(EndpointSecretsService).signingSecrets(ep.id),
        (e: unknown) =>
          e instanceof SecretDecryptionError && e.keyVersion === 1 && /not configured/.test(e.message),
      );
    } finally {
      await noPrevious.stop();
    }
  });
});
