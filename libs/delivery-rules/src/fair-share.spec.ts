import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointCredits, fairShare } from './fair-share';

const obj = (m: Map<string, number>) => Object.fromEntries(m);

describe('fairShare', () => {
  it('splits equally when everyone wants more than a share', () => {
    assert.deepEqual(
      obj(
        fairShare(
          [
            { key: 'a', demand: 50_000 },
            { key: 'b', demand: 50_000 },
          ],
          100,
        ),
      ),
      { a: 50, b: 50 },
    );
  });

  it("gives a small demand all it needs and shares the rest (a flood can't starve a trickle)", () => {
    const g = fairShare(
      [
        { key: 'flood', demand: 50_000 },
        { key: 'trickle', demand: 3 },
        { key: 'mid', demand: 30 },
      ],
      100,
    );
    assert.deepEqual(obj(g), { flood: 67, trickle: 3, mid: 30 });
  });

  it('never grants more than capacity or than a demand', () => {
    for (let seed = 1; seed < 200; seed++) {
      const demands = Array.from({ length: (seed % 7) + 1 }, (_, i) => ({
        key: `k${i}`,
        demand: (seed * (i + 3)) % 41,
      }));
      const cap = seed % 90;
      const g = fairShare(demands, cap, seed);
      const total = [...g.values()].reduce((a, b) => a + b, 0);
      const wanted = demands.reduce((a, d) => a + d.demand, 0);
      assert.equal(total, Math.min(cap, wanted), `seed ${seed}`);
      for (const d of demands) assert.ok((g.get(d.key) ?? 0) <= d.demand);
      // max-min: anyone below its demand has at least as much as anyone else, minus the indivisible unit
      const unmet = demands.filter((d) => (g.get(d.key) ?? 0) < d.demand).map((d) => g.get(d.key) ?? 0);
      for (const u of unmet) for (const v of g.values()) assert.ok(u >= v - 1, `seed ${seed}: ${u} vs ${v}`);
    }
  });

  it('hands the indivisible remainder round-robin by rotation', () => {
    const d = [
      { key: 'a', demand: 9 },
      { key: 'b', demand: 9 },
      { key: 'c', demand: 9 },
    ];
    assert.deepEqual(obj(fairShare(d, 1, 0)), { a: 1, b: 0, c: 0 });
    assert.deepEqual(obj(fairShare(d, 1, 1)), { a: 0, b: 1, c: 0 });
    assert.deepEqual(obj(fairShare(d, 1, 5)), { a: 0, b: 0, c: 1 });
  });

  it('rejects bad input', () => {
    assert.throws(() => fairShare([{ key: 'a', demand: -1 }], 1), RangeError);
    assert.throws(() => fairShare([{ key: 'a', demand: 1 }], 1.5), RangeError);
    assert.throws(
      () =>
        fairShare(
          [
            { key: 'a', demand: 1 },
            { key: 'a', demand: 2 },
          ],
          3,
        ),
      RangeError,
    );
    assert.equal(fairShare([], 10).size, 0);
  });
});

describe('endpointCredits', () => {
  it('is the tightest of in-flight room, rate tokens and circuit allowance, never negative', () => {
    assert.equal(
      endpointCredits({ maxInFlight: 5, inFlight: 2, rateTokens: Infinity, circuitAllowance: Infinity }),
      3,
    );
    assert.equal(
      endpointCredits({ maxInFlight: 5, inFlight: 2, rateTokens: 1, circuitAllowance: Infinity }),
      1,
    );
    assert.equal(endpointCredits({ maxInFlight: 5, inFlight: 0, rateTokens: 9, circuitAllowance: 1 }), 1);
    assert.equal(
      endpointCredits({ maxInFlight: 5, inFlight: 7, rateTokens: 9, circuitAllowance: Infinity }),
      0,
    );
    assert.equal(endpointCredits({ maxInFlight: 5, inFlight: 0, rateTokens: 9, circuitAllowance: 0 }), 0);
  });
});
