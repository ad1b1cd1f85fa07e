import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPayloadText, decodeBody, payloadTexts, PayloadSyntaxError } from './payload-text';

const LIMITS = { maxBytes: 1024, maxDepth: 100 };
const TRICKY =
  '{ "z": 1, "10": "ten", "2": 2 , "big": 12345678901234567890, "p": 1.50, "huge": 1e400, "e": "\\u00e9" }';

/** The texts of payloadTexts' answer (the trees are checked by checkPayloadText's cases). */
function texts(body: string, mode: 'single' | 'batch') {
  return payloadTexts(body, mode).map((p) => p?.text);
}

describe('payloadTexts', () => {
  it('returns the payload text exactly as it stands in a single body', () => {
    const body = `{"eventType":"order.created",  "payload" :${TRICKY} , "idempotencyKey":"k"}`;
    assert.deepEqual(texts(body, 'single'), [TRICKY]);
  });

  it('returns each payload of a batch, in order; undefined where an item has none', () => {
    const body = `{"events":[{"eventType":"a","payload":${TRICKY}},{"eventType":"b"},{"payload":{"x" : [1,2]}}]}`;
    assert.deepEqual(texts(body, 'batch'), [TRICKY, undefined, '{"x" : [1,2]}']);
  });

  it('takes the last of repeated members, like JSON.parse did for the other fields', () => {
    assert.deepEqual(texts('{"payload":{"a":1},"payload":{"b":2}}', 'single'), ['{"b":2}']);
  });

  it('refuses comments and trailing commas (strict JSON only)', () => {
    assert.throws(() => payloadTexts('{"payload":{"a":1,}}', 'single'), PayloadSyntaxError);
    assert.throws(() => payloadTexts('{"payload":/* c */{"a":1}}', 'single'), PayloadSyntaxError);
  });

  it('a body nested far too deeply is a syntax problem, not a crash', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    assert.throws(() => payloadTexts(`{"payload":${deep}}`, 'single'), PayloadSyntaxError);
  });
});

describe('checkPayloadText', () => {
  it("checks the body's tree when given one, without parsing the payload again", () => {
    const [located] = payloadTexts('{"payload":{"a":1,"a":2}}', 'single');
    assert.ok(located);
    const r = checkPayloadText(located.text, LIMITS, 'payload', located.tree);
    assert.equal(r.ok, false, 'the repeated key is found on the given tree');
    // A tree of a valid object with text that would not parse: the tree is what is checked.
    const [valid] = payloadTexts('{"payload":{"a":1}}', 'single');
    assert.deepEqual(checkPayloadText('{"a":1', LIMITS, 'payload', valid?.tree), {
      ok: true,
      text: '{"a":1',
    });
  });

  it('accepts an object and hands its text back unchanged', () => {
    assert.deepEqual(checkPayloadText(TRICKY, LIMITS, 'payload'), { ok: true, text: TRICKY });
    assert.deepEqual(checkPayloadText('{"__proto__":{"x":1}}', LIMITS, 'p'), {
      ok: true,
      text: '{"__proto__":{"x":1}}',
    });
  });

  it('rejects what is not an object', () => {
    for (const t of ['null', '[]', '"x"', '3', 'true']) {
      const r = checkPayloadText(t, LIMITS, 'events[2].payload');
      assert.deepEqual(r, {
        ok: false,
        tooLarge: false,
        problem: { field: 'events[2].payload', reason: 'must be a JSON object' },
      });
    }
  });

  it('measures the size in UTF-8 bytes of the text as sent (spaces count), limit inclusive', () => {
    const text = `{ "s" : "${'é'.repeat(10)}" }`; // 12 ASCII + 20 bytes
    assert.equal(checkPayloadText(text, { ...LIMITS, maxBytes: 32 }, 'payload').ok, true);
    const over = checkPayloadText(text, { ...LIMITS, maxBytes: 31 }, 'payload');
    assert.ok(!over.ok && over.tooLarge && /32 bytes/.test(over.problem.reason));
  });

  it('limits the depth (the payload itself is level 1)', () => {
    const nested = (n: number) => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);
    assert.equal(checkPayloadText(nested(5), { ...LIMITS, maxDepth: 5 }, 'payload').ok, true);
    const r = checkPayloadText(nested(6), { ...LIMITS, maxDepth: 5 }, 'payload');
    assert.ok(!r.ok && !r.tooLarge && /deeper than 5/.test(r.problem.reason));
    const arrays = checkPayloadText(
      `{"a":${'['.repeat(5)}${']'.repeat(5)}}`,
      { ...LIMITS, maxDepth: 5 },
      'p',
    );
    assert.ok(!arrays.ok);
  });

  it('rejects a key repeated within one object, at any level; the same key in different objects is fine', () => {
    const r = checkPayloadText('{"a":{"id":1,"id":2}}', LIMITS, 'payload');
    assert.ok(!r.ok && !r.tooLarge && r.problem.field === 'payload' && /"id"/.test(r.problem.reason));
    assert.equal(checkPayloadText('{"a":{"id":1},"b":{"id":1}}', LIMITS, 'payload').ok, true);
  });

  it('rejects NUL and unpaired surrogates in strings and keys; a pair is fine', () => {
    for (const t of ['{"a":"\\u0000"}', '{"a":"\\ud800"}', '{"\\udc00":1}', '{"a":["x\\ud83dy"]}']) {
      assert.equal(checkPayloadText(t, LIMITS, 'payload').ok, false, t);
    }
    assert.equal(checkPayloadText('{"a":"\\ud83d\\ude00"}', LIMITS, 'payload').ok, true);
  });
});

describe('decodeBody', () => {
  it('decodes UTF-8 and refuses anything else', () => {
    assert.equal(decodeBody(Buffer.from('{"a":"é"}')), '{"a":"é"}');
    assert.equal(decodeBody(Buffer.from([0x7b, 0xff, 0x7d])), null);
  });
});
