import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateSecret, parseSecret, sign, signatureHeader, validateSecret } from './signing';

// Test vector from the reference JavaScript library's tests (see docs: delivery-facts.md).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

function headers(id: string, ts: number, signature: string): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature };
}

describe('sign', () => {
  it('matches the Standard Webhooks test vector', () => {
    assert.equal(sign(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body), VECTOR.signature);
  });

  it('changes with the id, the timestamp and every byte of the body', () => {
    const base = sign(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body);
    assert.notEqual(sign(VECTOR.secret, VECTOR.id + 'x', VECTOR.timestamp, VECTOR.body), base);
    assert.notEqual(sign(VECTOR.secret, VECTOR.id, VECTOR.timestamp + 1, VECTOR.body), base);
    assert.notEqual(sign(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body.replace(' ', '')), base);
  });

  it('signs non-ASCII bodies as UTF-8 bytes, as verifiers do', () => {
    const secret = generateSecret();
    const now = Math.floor(Date.now() / 1000);
    const body = '{"name":"Zoë ☃ 🚀"}';
    const header = sign(secret, 'msg_1', now, body);
    assert.doesNotThrow(() => new Webhook(secret).verify(body, headers('msg_1', now, header)));
  });

  it('refuses timestamps that are not unix seconds (fractions, negatives, milliseconds)', () => {
    for (const ts of [1614265330.5, -1, 1614265330000, Number.NaN]) {
      assert.throws(() => sign(VECTOR.secret, VECTOR.id, ts, VECTOR.body), /integer number of unix seconds/);
    }
  });
});

describe('signatureHeader', () => {
  it('has one space-separated v1 entry per secret, in order', () => {
    const other = generateSecret();
    const header = signatureHeader([VECTOR.secret, other], VECTOR.id, VECTOR.timestamp, VECTOR.body);
    const entries = header.split(' ');
    assert.equal(entries.length, 2);
    assert.equal(entries[0], VECTOR.signature);
    assert.equal(entries[1], sign(other, VECTOR.id, VECTOR.timestamp, VECTOR.body));
    assert.match(entries[1], /^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('verifies with the standardwebhooks package (current timestamp)', () => {
    const secret = generateSecret();
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: 'invoice.paid', data: { id: 42 } });
    const header = signatureHeader([secret], 'msg_abc', now, body);
    assert.deepEqual(new Webhook(secret).verify(body, headers('msg_abc', now, header)), JSON.parse(body));
  });

  it("verifies during rotation when only the second entry is the verifier's secret", () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const now = Math.floor(Date.now() / 1000);
    const body = '{"rotation":true}';
    const header = signatureHeader([oldSecret, newSecret], 'msg_rot', now, body);
    const verifier = new Webhook(newSecret);
    assert.doesNotThrow(() => verifier.verify(body, headers('msg_rot', now, header)));
    // ...and the verifier really is checking: the first entry alone does not pass for it.
    assert.throws(
      () => verifier.verify(body, headers('msg_rot', now, header.split(' ')[0])),
      /No matching signature/,
    );
  });

  it('fails verification for a tampered body or another secret', () => {
    const secret = generateSecret();
    const now = Math.floor(Date.now() / 1000);
    const header = signatureHeader([secret], 'msg_t', now, '{"a":1}');
    assert.throws(() => new Webhook(secret).verify('{"a":2}', headers('msg_t', now, header)));
    assert.throws(() => new Webhook(generateSecret()).verify('{"a":1}', headers('msg_t', now, header)));
  });

  it('needs at least one secret', () => {
    assert.throws(() => signatureHeader([], 'msg', 1, ''), /at least one webhook secret/);
  });
});

describe('secrets', () => {
  it('generates whsec_ + base64 of 32 random bytes', () => {
    const a = generateSecret();
    const b = generateSecret();
    assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(parseSecret(a).length, 32);
    assert.notEqual(a, b);
    assert.equal(validateSecret(a), null);
  });

  it('accepts 24 to 64 byte keys', () => {
    assert.equal(parseSecret(VECTOR.secret).length, 24);
    const max = 'whsec_' + Buffer.alloc(64, 7).toString('base64');
    assert.equal(validateSecret(max), null);
    assert.equal(parseSecret(max).length, 64);
  });

  const bad: [unknown, RegExp][] = [
    ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', /must start with "whsec_"/],
    ['whsec_', /standard base64/],
    ['whsec_not base64!', /standard base64/],
    ['whsec_abcde', /standard base64/],
    ['whsec_' + Buffer.alloc(23).toString('base64'), /24 to 64 bytes .*\(got 23\)/],
    ['whsec_' + Buffer.alloc(65).toString('base64'), /24 to 64 bytes .*\(got 65\)/],
    [42, /must be a string/],
  ];
  for (const [secret, problem] of bad) {
    it(`rejects ${JSON.stringify(secret)}`, () => {
      assert.match(validateSecret(secret) ?? '', problem);
      assert.throws(
        () => parseSecret(secret as string),
        (err: Error) => {
          assert.match(err.message, /^invalid webhook secret: /);
          assert.match(err.message, problem);
          return true;
        },
      );
    });
  }
});
