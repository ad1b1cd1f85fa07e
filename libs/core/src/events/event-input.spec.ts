import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPayload, MAX_PAYLOAD_DEPTH } from './event-input';

describe('checkPayload', () => {
  it('accepts a JSON object and returns its compact JSON', () => {
    assert.deepEqual(checkPayload({ a: [1, { b: 'ü' }] }, 1024, 'payload'), {
      ok: true,
      json: '{"a":[1,{"b":"ü"}]}',
    });
    const proto = JSON.parse('{"__proto__":{"x":1}}') as Record<string, unknown>;
    assert.deepEqual(checkPayload(proto, 1024, 'payload'), { ok: true, json: '{"__proto__":{"x":1}}' });
  });

  it('rejects what is not an object', () => {
    for (const v of [null, [], 'x', 3, true, undefined]) {
      const r = checkPayload(v, 1024, 'events[2].payload');
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.tooLarge, false);
        assert.equal(r.problem.field, 'events[2].payload');
      }
    }
  });

  it('measures the size in UTF-8 bytes of the compact JSON, limit inclusive', () => {
    const exact = { s: 'é'.repeat(10) }; // {"s":"..."} = 8 + 20 bytes
    assert.equal(checkPayload(exact, 28, 'payload').ok, true);
    const over = checkPayload(exact, 27, 'payload');
    assert.ok(!over.ok && over.tooLarge);
  });

  it('rejects nesting deeper than MAX_PAYLOAD_DEPTH, even far deeper than the stack allows', () => {
    const nest = (n: number) => JSON.parse(`{"a":${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`) as object;
    assert.equal(checkPayload(nest(MAX_PAYLOAD_DEPTH), 1e6, 'payload').ok, true);
    assert.equal(checkPayload(nest(MAX_PAYLOAD_DEPTH + 1), 1e6, 'payload').ok, false);
    assert.equal(checkPayload(nest(50_000), 1e6, 'payload').ok, false);
  });

  it('rejects text Postgres jsonb cannot store: NUL and unpaired surrogates, in values and keys', () => {
    for (const bad of [{ s: 'a\u0000' }, { 'k\u0000': 1 }, { s: '\ud800' }, { s: ['x\udc00'] }]) {
      assert.equal(checkPayload(bad, 1024, 'payload').ok, false, JSON.stringify(bad));
    }
    assert.equal(checkPayload({ s: '😀 \\u0000 is fine as text' }, 1024, 'payload').ok, true);
  });
});
