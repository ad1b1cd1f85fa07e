import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RawJson, stringifyWithRawJson } from './raw-json';

describe('stringifyWithRawJson', () => {
  it('writes each RawJson as its text, byte for byte, anywhere in the value', () => {
    const a = '{ "b":2, "a" : 12345678901234567890, "e":"\\u00e9", "n": 1e400 }';
    const out = stringifyWithRawJson({ id: 'x', payload: new RawJson(a), list: [{ p: new RawJson('{}') }] });
    assert.equal(out, `{"id":"x","payload":${a},"list":[{"p":{}}]}`);
  });

  it('leaves everything else as JSON.stringify writes it, including strings that look like markers', () => {
    const v = { s: '\u0000raw-json-', n: 1, q: 'he said "hi"' };
    assert.equal(stringifyWithRawJson(v), JSON.stringify(v));
  });

  it('a RawJson text containing quotes and markers-lookalikes is kept as is', () => {
    const t = '{"x":"\\u0000raw-json-0","y":"\\""}';
    assert.equal(stringifyWithRawJson({ a: new RawJson(t), b: new RawJson('[1]') }), `{"a":${t},"b":[1]}`);
  });
});
