import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkFilterText } from './endpoint-filter-rules';

const LIMITS = { maxBytes: 64, maxDepth: 4 };

function problems(text: string): { field: string; reason: string }[] {
  const r = checkFilterText(text, LIMITS);
  assert.equal(r.ok, false, `expected ${text} to be refused`);
  return r.ok ? [] : r.problems;
}

describe('checkFilterText', () => {
  it('keeps a valid filter as written, spacing and key order included', () => {
    const text = '{ "type" : "a",  "data.n": {"$gt": 1} }';
    const r = checkFilterText(text, LIMITS);
    assert.ok(r.ok);
    assert.equal(r.text, text);
  });

  it('names filter plus the path of each problem', () => {
    assert.deepEqual(
      problems('{"data.n": {"$gtt": 1}, "$or": [{"type": {"$in": 3}}]}')
        .map((p) => p.field)
        .sort(),
      ['filter.$or[0].type.$in', 'filter.data.n.$gtt'],
    );
  });

  it('refuses what JSON.parse would read differently from the text, or not at all', () => {
    assert.deepEqual(problems('{"type": "a", "type": "b"}'), [
      { field: 'filter', reason: 'repeats the key "type" in one object' },
    ]);
    assert.match(problems('{"type": ')[0].reason, /not valid JSON/);
    assert.match(problems('[{"type": "a"}]')[0].reason, /JSON object/);
    assert.match(problems('"a"')[0].reason, /JSON object/);
  });

  it('measures the size as sent and the depth as validateFilter does', () => {
    assert.match(problems(`{"type": "${' '.repeat(60)}"}`)[0].reason, /bytes/);
    assert.match(problems(`{"type":"a"${' '.repeat(60)}}`)[0].reason, /bytes/);
    assert.match(problems('{"data.a.b.c.d": 1}')[0].reason, /deeper|nest/);
  });
});
