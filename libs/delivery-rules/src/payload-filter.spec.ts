import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompiledFilter, explainFilter, FilterError, matchFilter, validateFilter } from './payload-filter';

function compile(filter: unknown): CompiledFilter {
  const r = validateFilter(filter);
  assert.ok(r.ok, `expected a valid filter: ${JSON.stringify(r.ok ? null : r.errors)}`);
  return r.filter;
}

function errorsOf(filter: unknown, limits?: { maxBytes: number; maxDepth: number }): FilterError[] {
  const r = validateFilter(filter, limits);
  assert.equal(r.ok, false, `expected errors for ${JSON.stringify(filter)}`);
  return r.ok ? [] : r.errors;
}

const EVENT = {
  type: 'order.paid',
  data: {
    amount: 5,
    currency: 'EUR',
    email: 'ann@example.com',
    status: 'paid',
    note: null,
    tags: ['urgent', 'vip'],
    items: [
      { sku: 'a', qty: 1 },
      { sku: 'b', qty: 3 },
    ],
    customer: { id: 'c1', tier: 'gold' },
  },
};

function matches(filter: unknown, event: { type: string; data: unknown } = EVENT): boolean {
  const compiled = compile(filter);
  const m = matchFilter(compiled, event);
  assert.equal(explainFilter(compiled, event).match, m, 'explain agrees with match');
  return m;
}

describe('matchFilter: each operator matches and fails', () => {
  const cases: [string, unknown, unknown][] = [
    ['plain value', { data: { status: 'paid' } }, { data: { status: 'open' } }],
    ['$eq', { 'data.amount': { $eq: 5 } }, { 'data.amount': { $eq: '5' } }],
    ['$neq', { 'data.amount': { $neq: 6 } }, { 'data.amount': { $neq: 5 } }],
    ['$gt', { 'data.amount': { $gt: 4 } }, { 'data.amount': { $gt: 5 } }],
    ['$gte', { 'data.amount': { $gte: 5 } }, { 'data.amount': { $gte: 6 } }],
    ['$lt', { 'data.amount': { $lt: 6 } }, { 'data.amount': { $lt: 5 } }],
    ['$lte', { 'data.amount': { $lte: 5 } }, { 'data.amount': { $lte: 4 } }],
    ['$gt on strings', { 'data.currency': { $gt: 'DKK' } }, { 'data.currency': { $gt: 'USD' } }],
    ['$in (array)', { 'data.currency': { $in: ['EUR', 'USD'] } }, { 'data.currency': { $in: ['GBP'] } }],
    ['$in (substring)', { 'data.email': { $in: '@example' } }, { 'data.email': { $in: '@other' } }],
    ['$nin (array)', { 'data.currency': { $nin: ['GBP'] } }, { 'data.currency': { $nin: ['EUR'] } }],
    ['$nin (array value)', { 'data.tags': { $nin: 'spam' } }, { 'data.tags': { $nin: 'vip' } }],
    ['$exists true', { 'data.note': { $exists: true } }, { 'data.missing': { $exists: true } }],
    ['$exists false', { 'data.missing': { $exists: false } }, { 'data.note': { $exists: false } }],
    ['$exist (Outpost spelling)', { 'data.amount': { $exist: true } }, { 'data.amount': { $exist: false } }],
    ['$startsWith', { type: { $startsWith: 'order.' } }, { type: { $startsWith: 'user.' } }],
    [
      '$startsWith (any of)',
      { type: { $startsWith: ['x', 'order'] } },
      { type: { $startsWith: ['x', 'y'] } },
    ],
    ['$endsWith', { 'data.email': { $endsWith: '.com' } }, { 'data.email': { $endsWith: '.org' } }],
    [
      '$and',
      { $and: [{ type: 'order.paid' }, { 'data.amount': 5 }] },
      { $and: [{ type: 'order.paid' }, { 'data.amount': 6 }] },
    ],
    ['$or', { $or: [{ type: 'x' }, { 'data.amount': 5 }] }, { $or: [{ type: 'x' }, { 'data.amount': 6 }] }],
    ['$not', { $not: { type: 'user.created' } }, { $not: { type: 'order.paid' } }],
    [
      'field-level $not',
      { 'data.status': { $not: { $in: ['void'] } } },
      { 'data.status': { $not: { $in: ['paid'] } } },
    ],
  ];
  for (const [name, yes, no] of cases) {
    it(name, () => {
      assert.equal(matches(yes), true, `${JSON.stringify(yes)} should match`);
      assert.equal(matches(no), false, `${JSON.stringify(no)} should not match`);
    });
  }
});

describe('matchFilter: semantics', () => {
  it('dotted paths are the nested form', () => {
    assert.equal(matches({ 'data.customer.tier': 'gold' }), true);
    assert.equal(matches({ data: { customer: { tier: 'gold' } } }), true);
    assert.equal(matches({ 'data.customer': { tier: 'silver' } }), false);
  });

  it('nested objects match as a subset; {} matches any object', () => {
    assert.equal(matches({ data: { customer: { id: 'c1' } } }), true);
    assert.equal(matches({ data: { customer: {} } }), true);
    assert.equal(matches({ data: { amount: {} } }), false);
  });

  it('arrays: scalar containment, element match, subset, $eq is exact', () => {
    assert.equal(matches({ 'data.tags': 'vip' }), true);
    assert.equal(matches({ 'data.tags': 'spam' }), false);
    assert.equal(matches({ 'data.items': { sku: 'b', qty: { $gte: 2 } } }), true);
    assert.equal(
      matches({ 'data.items': { sku: 'a', qty: { $gte: 2 } } }),
      false,
      'one element must match both',
    );
    assert.equal(
      matches({ 'data.items.sku': 'a', 'data.items.qty': 3 }),
      true,
      'separate paths, separate elements',
    );
    assert.equal(matches({ 'data.tags': ['vip', 'urgent'] }), true);
    assert.equal(matches({ 'data.tags': ['vip', 'spam'] }), false);
    assert.equal(matches({ 'data.tags': { $eq: ['urgent', 'vip'] } }), true);
    assert.equal(matches({ 'data.tags': { $eq: ['vip'] } }), false);
    assert.equal(matches({ 'data.status': ['paid'] }), false, 'a plain array needs an array');
    assert.equal(
      matches({ data: { n: 3 } }, { type: 't', data: { n: [1, [2, [3]]] } }),
      true,
      'nested arrays',
    );
  });

  it('type mismatches and missing fields do not match ($neq/$nin included)', () => {
    assert.equal(matches({ 'data.amount': { $gt: '1' } }), false);
    assert.equal(matches({ 'data.tags': { $gt: 1 } }), false);
    assert.equal(matches({ 'data.amount': { $startsWith: '5' } }), false);
    assert.equal(matches({ 'data.missing': { $neq: 1 } }), false);
    assert.equal(matches({ 'data.missing': { $nin: [1] } }), false);
    assert.equal(matches({ 'data.customer': { $nin: ['x'] } }), false, '$nin does not apply to an object');
    assert.equal(matches({ 'data.missing': { $not: { $eq: 1 } } }), true, '$not of a missing field');
    assert.equal(matches({ 'data.note': null }), true);
    assert.equal(matches({ 'data.amount': '5' }), false, 'no coercion');
  });

  it('nested $and / $or / $not', () => {
    const f = {
      $or: [
        { $and: [{ type: { $startsWith: 'user.' } }, { 'data.amount': { $gt: 1 } }] },
        { $and: [{ 'data.tags': 'vip' }, { $not: { 'data.customer.tier': { $in: ['bronze', 'silver'] } } }] },
      ],
    };
    assert.equal(matches(f), true);
    assert.equal(
      matches(f, { ...EVENT, data: { ...EVENT.data, customer: { id: 'c', tier: 'silver' } } }),
      false,
    );
    assert.equal(matches({ 'data.amount': { $and: [{ $gt: 1 }, { $lt: 10 }] } }), true);
    assert.equal(matches({ 'data.amount': { $or: [6, 7] } }), false);
    assert.equal(matches({ 'data.amount': { $or: [5, 7] } }), true);
  });

  it('the empty filter matches everything', () => {
    assert.equal(matches({}), true);
    assert.deepEqual(explainFilter(compile({}), EVENT).reasons, ['the filter is empty: every event matches']);
  });

  it('big integers compare as JS numbers (precision caveat)', () => {
    const data = JSON.parse('{"id": 9007199254740993}');
    assert.equal(matches(JSON.parse('{"data.id": 9007199254740992}'), { type: 't', data }), true);
  });

  it('does not reach Object.prototype, and survives a very deep payload', () => {
    assert.equal(matches({ 'data.constructor': { $exists: true } }), false);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(matches({ 'data.x': 1 }, { type: 't', data: { x: deep } }), true);
  });

  it('follows Outpost simplejsonmatch cases (match_test.go, wrapped under data)', () => {
    const table: [unknown, unknown, boolean][] = [
      [{ count: 1, type: 'created' }, { count: 1 }, true],
      [{ count: 1 }, { count: 1, type: 'created' }, false],
      [{ count: 2 }, { count: { $gt: 1, $lt: 3 } }, true],
      [{ count: 4 }, { count: { $gt: 1, $lt: 3 } }, false],
      [{ items: [{ inventory: 9 }, { inventory: 11 }] }, { items: { inventory: { $lte: 10 } } }, true],
      [{ items: [{ inventory: 12 }, { inventory: 11 }] }, { items: { inventory: { $lte: 10 } } }, false],
      [{ tags: ['test', 'other', 'more'] }, { tags: ['test', 'other'] }, true],
      [{ tags: ['test', 'other', 'more'] }, { tags: { $eq: ['test', 'other'] } }, false],
      [{ exist: null }, { exist: false }, false],
      [{ exist: null }, { exist: { $neq: null } }, false],
      [{ test: 'some-text', id: 123 }, { test: { $in: 'text' }, id: { $in: [123, 456] } }, true],
      [{ test: 'some-text' }, { test: { $in: ['some', 'text'] } }, false],
      [{ tags: ['test', 'something'] }, { tags: { $nin: 'test' } }, false],
      [
        { test: { something: 'else' } },
        { test: { $or: [{ something: true }, { something: { $in: 'else' } }] } },
        true,
      ],
      [{ test: { test1: 'else' } }, { test: { test1: { $exist: true, $or: ['else', 'not'] } } }, true],
      [{ test: { test1: 'else1' } }, { test: { test1: { $exist: true, $or: ['else', 'not'] } } }, false],
      [{ test1: 'else' }, { test: { $exist: false } }, true],
      [{ test: { test1: { test3: 'else' } } }, { test: { test1: { test2: { $exist: true } } } }, false],
    ];
    for (const [data, schema, expected] of table) {
      assert.equal(matches({ data: schema }, { type: 't', data }), expected, JSON.stringify(schema));
      assert.equal(
        matches({ $not: { data: schema } }, { type: 't', data }),
        !expected,
        `$not ${JSON.stringify(schema)}`,
      );
    }
  });
});

describe('explainFilter', () => {
  it('says why it did not match', () => {
    const r = explainFilter(compile({ 'data.amount': { $gt: 10 }, type: 'order.paid' }), EVENT);
    assert.deepEqual(r, { match: false, reasons: ['data.amount: 5 is not > 10'] });
  });

  it('says why it matched, with the element that matched', () => {
    const r = explainFilter(compile({ 'data.items': { sku: 'b' } }), EVENT);
    assert.deepEqual(r, { match: true, reasons: ['data.items[1].sku: "b" equals "b"'] });
    const missing = explainFilter(compile({ 'data.nope': 1 }), EVENT);
    assert.deepEqual(missing.reasons, ['data.nope: missing']);
  });

  it('agrees with matchFilter on random filters and payloads', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const scalars = [0, 1, 5, 'a', 'b', 'ab', true, null];
    const keys = ['x', 'y', 'z'];
    const value = (d: number): unknown => {
      const r = rand();
      if (d > 2 || r < 0.5) return pick(scalars);
      if (r < 0.75) return [value(d + 1), value(d + 1)];
      return Object.fromEntries(keys.filter(() => rand() < 0.6).map((k) => [k, value(d + 1)]));
    };
    const cond = (d: number): unknown => {
      const r = rand();
      if (d > 2 || r < 0.3) return pick(scalars);
      if (r < 0.45) return { [pick(['$gt', '$gte', '$lt', '$lte'])]: pick([1, 'a']) };
      if (r < 0.55) return { [pick(['$in', '$nin'])]: pick([['a', 1], 'a']) };
      if (r < 0.6) return { $exists: rand() < 0.5 };
      if (r < 0.65) return { [pick(['$eq', '$neq'])]: value(2) };
      if (r < 0.7) return { $startsWith: 'a' };
      if (r < 0.8) return { [pick(['$and', '$or'])]: [cond(d + 1), cond(d + 1)] };
      if (r < 0.85) return { $not: cond(d + 1) };
      return { [pick(keys)]: cond(d + 1) };
    };
    const outcomes = { true: 0, false: 0 };
    for (let i = 0; i < 3000; i++) {
      const compiled = compile({ data: { [pick(keys)]: cond(0) } });
      const event = { type: 't', data: value(0) };
      const m = matchFilter(compiled, event);
      assert.equal(explainFilter(compiled, event).match, m, JSON.stringify({ s: compiled.source, event }));
      outcomes[String(m) as 'true' | 'false']++;
    }
    assert.ok(outcomes.true > 150 && outcomes.false > 150, JSON.stringify(outcomes));
  });
});

describe('validateFilter', () => {
  const reasonAt = (filter: unknown, path: string): string => {
    const e = errorsOf(filter).find((x) => x.path === path);
    assert.ok(e, `no error at ${path}: ${JSON.stringify(errorsOf(filter))}`);
    return e.reason;
  };

  it('names the bad operator and its path', () => {
    assert.equal(reasonAt({ data: { amount: { $gtt: 1 } } }, 'data.amount.$gtt'), 'unknown operator');
    assert.equal(reasonAt({ 'data.amount': { $ref: 'x' } }, 'data.amount.$ref'), 'unknown operator');
    assert.equal(
      reasonAt({ $or: [{ type: 'a' }, { data: { $regex: 'x' } }] }, '$or[1].data.$regex'),
      'unknown operator',
    );
  });

  it('checks operand types', () => {
    assert.match(reasonAt({ 'data.a': { $in: 5 } }, 'data.a.$in'), /needs an array/);
    assert.match(reasonAt({ 'data.a': { $in: [{}] } }, 'data.a.$in'), /strings, numbers, booleans or null/);
    assert.match(reasonAt({ 'data.a': { $exists: 'yes' } }, 'data.a.$exists'), /boolean/);
    assert.match(reasonAt({ 'data.a': { $startsWith: 1 } }, 'data.a.$startsWith'), /string/);
    assert.match(reasonAt({ 'data.a': { $endsWith: [] } }, 'data.a.$endsWith'), /non-empty array of strings/);
    assert.match(reasonAt({ 'data.a': { $gt: true } }, 'data.a.$gt'), /number or a string/);
    assert.match(reasonAt({ $and: [] }, '$and'), /non-empty array/);
    assert.match(reasonAt({ $or: { type: 'a' } }, '$or'), /non-empty array/);
    assert.match(reasonAt({ $or: ['a'] }, '$or[0]'), /must be an object/);
    assert.match(reasonAt({ $not: 'a' }, '$not'), /needs an object/);
  });

  it('rejects bad shapes and fields', () => {
    assert.deepEqual(errorsOf(null), [{ path: '', reason: 'must be a JSON object' }]);
    assert.deepEqual(errorsOf([1]), [{ path: '', reason: 'must be a JSON object' }]);
    assert.match(reasonAt({ amount: 1 }, 'amount'), /only type and data.*data\.amount/);
    assert.match(reasonAt({ topic: 'a' }, 'topic'), /type here/);
    assert.match(reasonAt({ $eq: 1 }, '$eq'), /needs a field/);
    assert.match(reasonAt({ 'data..a': 1 }, 'data..a'), /empty segment/);
    assert.match(reasonAt({ 'data.$gt': 1 }, 'data.$gt'), /dotted path/);
    assert.match(reasonAt({ 'data.a': { $gt: 1, currency: 'EUR' } }, 'data.a'), /cannot mix/);
    assert.match(reasonAt({ data: { a: () => 1 } }, 'data.a'), /not a JSON value/);
    assert.match(reasonAt({ data: { a: Infinity } }, 'data.a'), /not a JSON value/);
  });

  it('enforces the size limit (4 KiB by default)', () => {
    const ok = { data: { s: 'x'.repeat(4096 - '{"data":{"s":""}}'.length) } };
    assert.equal(validateFilter(ok).ok, true);
    const big = { data: { s: 'x'.repeat(4097 - '{"data":{"s":""}}'.length) } };
    assert.deepEqual(errorsOf(big), [{ path: '', reason: 'is 4097 bytes as JSON; the limit is 4096' }]);
    assert.equal(validateFilter(ok, { maxBytes: 100, maxDepth: 16 }).ok, false);
  });

  it('enforces the depth limit, counting dotted segments', () => {
    const limits = { maxBytes: 4096, maxDepth: 3 };
    assert.equal(validateFilter({ data: { amount: { $gt: 1 } } }, limits).ok, true);
    assert.equal(validateFilter({ 'data.amount': { $gt: 1 } }, limits).ok, true);
    assert.match(errorsOf({ data: { a: { b: { $gt: 1 } } } }, limits)[0].reason, /deeper than 3/);
    assert.match(errorsOf({ 'data.a.b': { $gt: 1 } }, limits)[0].reason, /deeper than 3/);
    // A scalar at the end of a dotted path: as deep as the same filter written out.
    assert.match(errorsOf({ data: { a: { b: { c: 1 } } } }, limits)[0].reason, /deeper than 3/);
    assert.match(errorsOf({ 'data.a.b.c': 1 }, limits)[0].reason, /deeper than 3/);
    assert.equal(validateFilter({ data: { a: { b: 1 } } }, limits).ok, true);
    assert.equal(validateFilter({ 'data.a.b': 1 }, limits).ok, true);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const r = validateFilter({ data: deep });
    assert.ok(
      !r.ok && /deeper than 16/.test(r.errors[0].reason),
      'a hostile nesting is rejected without recursion',
    );
    assert.throws(() => validateFilter({}, { maxBytes: 0, maxDepth: 3 }), RangeError);
  });

  it('copies the filter: later changes to the input do not change the compiled filter', () => {
    const src = { data: { status: 'paid' } };
    const compiled = compile(src);
    src.data.status = 'open';
    assert.equal(matchFilter(compiled, EVENT), true);
  });
});
