import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  decryptSecret,
  encryptSecret,
  parseKeyRing,
  SECRET_IV_BYTES,
  SECRET_TAG_BYTES,
  SecretDecryptionError,
} from './secret-cipher';
import { generateWebhookSecret, webhookSecretProblem } from './webhook-secret';

const KEY_1 = randomBytes(32).toString('base64');
const KEY_2 = randomBytes(32).toString('base64');
const EP_A = 'ep_0000000000000000000000000001';
const EP_B = 'ep_0000000000000000000000000002';
const SECRET = 'whsec_' + randomBytes(32).toString('base64');

describe('secret-cipher', () => {
  it('round-trips a secret and lays the blob out as iv || tag || ciphertext', () => {
    const ring = parseKeyRing(KEY_1, 1);
    const sealed = encryptSecret(ring, EP_A, SECRET);
    assert.equal(sealed.keyVersion, 1);
    assert.equal(sealed.ciphertext.length, SECRET_IV_BYTES + SECRET_TAG_BYTES + Buffer.byteLength(SECRET));
    assert.equal(decryptSecret(ring, EP_A, 1, sealed.ciphertext), SECRET);
  });

  it('never stores the secret or its base64 part in clear, and uses a fresh IV each time', () => {
    const ring = parseKeyRing(KEY_1, 1);
    const a = encryptSecret(ring, EP_A, SECRET);
    const b = encryptSecret(ring, EP_A, SECRET);
    assert.ok(!a.ciphertext.includes(Buffer.from(SECRET)));
    assert.ok(!a.ciphertext.includes(Buffer.from(SECRET.slice('whsec_'.length), 'base64')));
    assert.ok(!a.ciphertext.subarray(0, SECRET_IV_BYTES).equals(b.ciphertext.subarray(0, SECRET_IV_BYTES)));
    assert.ok(!a.ciphertext.equals(b.ciphertext));
  });

  it('fails with SecretDecryptionError for another endpoint (wrong associated data)', () => {
    const ring = parseKeyRing(KEY_1, 1);
    const sealed = encryptSecret(ring, EP_A, SECRET);
    assert.throws(() => decryptSecret(ring, EP_B, 1, sealed.ciphertext), SecretDecryptionError);
  });

  it('binds the purpose: a signing secret blob does not open as headers, nor the reverse', () => {
    const ring = parseKeyRing(KEY_1, 1);
    const secret = encryptSecret(ring, EP_A, SECRET);
    const headers = encryptSecret(ring, EP_A, '{"Authorization":"Bearer x"}', 'headers');
    assert.equal(decryptSecret(ring, EP_A, 1, headers.ciphertext, 'headers'), '{"Authorization":"Bearer x"}');
    assert.throws(
      () => decryptSecret(ring, EP_A, 1, secret.ciphertext, 'headers'),
      /custom headers of endpoint/,
    );
    assert.throws(() => decryptSecret(ring, EP_A, 1, headers.ciphertext), /signing secret of endpoint/);
  });

  it('fails when the key version in the associated data differs', () => {
    const ring = parseKeyRing(KEY_2, 2, `1:${KEY_2}`);
    const sealed = encryptSecret(ring, EP_A, SECRET);
    assert.throws(() => decryptSecret(ring, EP_A, 1, sealed.ciphertext), SecretDecryptionError);
  });

  it('fails with a wrong key, an unknown key version, a flipped bit or a truncated blob', () => {
    const sealed = encryptSecret(parseKeyRing(KEY_1, 1), EP_A, SECRET);
    assert.throws(
      () => decryptSecret(parseKeyRing(KEY_2, 1), EP_A, 1, sealed.ciphertext),
      SecretDecryptionError,
    );
    assert.throws(
      () => decryptSecret(parseKeyRing(KEY_1, 2), EP_A, 1, sealed.ciphertext),
      (e: unknown) => e instanceof SecretDecryptionError && /not configured/.test(e.message),
    );
    const tampered = Buffer.from(sealed.ciphertext);
    tampered[tampered.length - 1] ^= 1;
    assert.throws(() => decryptSecret(parseKeyRing(KEY_1, 1), EP_A, 1, tampered), SecretDecryptionError);
    assert.throws(
      () => decryptSecret(parseKeyRing(KEY_1, 1), EP_A, 1, sealed.ciphertext.subarray(0, 20)),
      SecretDecryptionError,
    );
  });

  it('decrypts rows sealed under a previous key version and encrypts new ones under the current one', () => {
    const old = encryptSecret(parseKeyRing(KEY_1, 1), EP_A, SECRET);
    const ring = parseKeyRing(KEY_2, 2, `1:${KEY_1}`);
    assert.equal(decryptSecret(ring, EP_A, old.keyVersion, old.ciphertext), SECRET);
    const fresh = encryptSecret(ring, EP_A, SECRET);
    assert.equal(fresh.keyVersion, 2);
    assert.equal(decryptSecret(ring, EP_A, 2, fresh.ciphertext), SECRET);
    assert.throws(
      () => decryptSecret(parseKeyRing(KEY_1, 1), EP_A, 2, fresh.ciphertext),
      SecretDecryptionError,
    );
  });

  it('does not reveal the secret or the key in error messages', () => {
    const sealed = encryptSecret(parseKeyRing(KEY_1, 1), EP_A, SECRET);
    try {
      decryptSecret(parseKeyRing(KEY_2, 1), EP_A, 1, sealed.ciphertext);
      assert.fail('should have thrown');
    } catch (e) {
      const message = (e as Error).message;
      assert.ok(message.includes(EP_A));
      assert.ok(!message.includes(SECRET) && !message.includes(KEY_1) && !message.includes(KEY_2));
    }
  });

  it('rejects malformed key configuration without echoing keys', () => {
    assert.throws(() => parseKeyRing('', 1), /SECRETS_ENCRYPTION_KEY/);
    assert.throws(() => parseKeyRing(randomBytes(16).toString('base64'), 1), /32 bytes/);
    assert.throws(() => parseKeyRing(KEY_1, 0), /VERSION/);
    assert.throws(() => parseKeyRing(KEY_1, 2, 'nonsense'), /PREVIOUS_KEYS/);
    assert.throws(
      () => parseKeyRing(KEY_1, 2, `1:${KEY_2},1:${KEY_1}`),
      (e: unknown) => e instanceof Error && /twice/.test(e.message) && !e.message.includes(KEY_1),
    );
    const ring = parseKeyRing(KEY_1, 3, ` 1:${KEY_2} , 2:${KEY_2} `);
    assert.deepEqual([...ring.keys.keys()].sort(), [1, 2, 3]);
  });
});

describe('webhook secrets', () => {
  it('generates whsec_ + base64 of 32 random bytes', () => {
    const s = generateWebhookSecret();
    assert.match(s, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(s.slice(6), 'base64').length, 32);
    assert.notEqual(s, generateWebhookSecret());
    assert.equal(webhookSecretProblem(s), null);
  });

  it('accepts 24-64 byte customer secrets and rejects everything else', () => {
    const ok = (n: number) => 'whsec_' + randomBytes(n).toString('base64');
    assert.equal(webhookSecretProblem(ok(24)), null);
    assert.equal(webhookSecretProblem(ok(64)), null);
    for (const bad of [
      ok(23),
      ok(65),
      randomBytes(32).toString('base64'),
      'whsec_',
      'whsec_not base64!!',
      'WHSEC_' + randomBytes(32).toString('base64'),
      'whsec_' + randomBytes(32).toString('base64url').replace(/=+$/, '') + '-_',
      'whsec_' + randomBytes(32).toString('base64').replace(/=+$/, ''),
    ]) {
      assert.notEqual(webhookSecretProblem(bad), null, bad);
    }
  });
});
