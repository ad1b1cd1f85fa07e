import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPortalLinkToken, makePortalLinkToken } from './portal-link-token';
import { deriveWebKey, openJson, sealJson } from './web-keys';

const source = {
  SECRETS_ENCRYPTION_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
  ADMIN_API_KEY: 'admin-key-0123456789',
};
const key = deriveWebKey(source, 'portal-link');
const app = 'app_0192f3a4b5c6d7e8f9a0b1c2d3e4';

describe('portal link tokens', () => {
  it('round-trips the application and expiry until the expiry', () => {
    const exp = new Date('2030-01-01T00:00:00Z');
    const token = makePortalLinkToken(key, app, exp);
    assert.match(token, /^pl1\.app_[0-9a-f]{28}\.\d+\.[\w-]{22}\.[\w-]{43}$/);
    const r = checkPortalLinkToken(key, token, new Date('2029-12-31T23:59:59Z'));
    assert.ok(r.ok);
    assert.equal(r.claims.applicationId, app);
    assert.equal(r.claims.expiresAt.toISOString(), exp.toISOString());
    assert.deepEqual(checkPortalLinkToken(key, token, exp), { ok: false, reason: 'expired' });
  });

  it('rejects another application id, a later expiry, another key and garbage', () => {
    const token = makePortalLinkToken(key, app, new Date('2030-01-01T00:00:00Z'));
    const parts = token.split('.');
    const otherApp = [parts[0], 'app_0192f3a4b5c6d7e8f9a0b1c2d3e5', ...parts.slice(2)].join('.');
    const later = [...parts.slice(0, 2), String(Number(parts[2]) + 3600), ...parts.slice(3)].join('.');
    const now = new Date('2029-01-01T00:00:00Z');
    for (const bad of [otherApp, later, `${token}x`, '', 'pl1....', token.toUpperCase()]) {
      assert.deepEqual(checkPortalLinkToken(key, bad, now), { ok: false, reason: 'invalid' }, bad);
    }
    const otherKey = deriveWebKey({ ...source, ADMIN_API_KEY: 'another-admin-key-0123' }, 'portal-link');
    assert.deepEqual(checkPortalLinkToken(otherKey, token, now), { ok: false, reason: 'invalid' });
    // Keys are per purpose.
    assert.notDeepEqual(deriveWebKey(source, 'web-session'), key);
  });

  it('sealJson/openJson: a value comes back only with its own MAC', () => {
    const sealed = sealJson(key, { a: 1 });
    assert.deepEqual(openJson(key, sealed), { a: 1 });
    const [body, mac] = sealed.split('.');
    const forged = `${Buffer.from('{"a":2}').toString('base64url')}.${mac}`;
    assert.equal(openJson(key, forged), null);
    assert.equal(openJson(deriveWebKey(source, 'flash'), sealed), null);
    assert.equal(openJson(key, `${body}.`), null);
    assert.equal(openJson(key, undefined), null);
  });
});
