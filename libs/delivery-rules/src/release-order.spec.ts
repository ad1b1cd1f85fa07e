import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRIORITIES, PriorityWeights, prioritySequence, splitByPriority } from './release-order';

const W: PriorityWeights = { high: 8, normal: 2, low: 1 };
const due = (high: number, normal: number, low: number) => ({ high, normal, low });

describe('prioritySequence', () => {
  it('holds each level weight times, spread evenly, ties to the higher level', () => {
    assert.deepEqual(
      prioritySequence(W).join(' '),
      'high high normal high high low high high normal high high',
    );
    assert.deepEqual(prioritySequence({ high: 1, normal: 1, low: 1 }), [...PRIORITIES]);
  });

  it('refuses weights below 1 or fractional', () => {
    assert.throws(() => prioritySequence({ high: 8, normal: 0, low: 1 }), RangeError);
    assert.throws(() => prioritySequence({ high: 1.5, normal: 1, low: 1 }), RangeError);
  });
});

describe('splitByPriority', () => {
  it('one level due: it takes the whole grant', () => {
    assert.deepEqual(splitByPriority(5, due(0, 20_000, 0), W), due(0, 5, 0));
    assert.deepEqual(splitByPriority(5, due(0, 0, 3), W), due(0, 0, 3));
  });

  it('a high delivery behind a normal backlog is released in the first cycle with two credits', () => {
    for (let rotation = 0; rotation < 11; rotation++) {
      const s = splitByPriority(2, due(1, 20_000, 0), W, rotation);
      assert.equal(s.high, 1, `rotation ${rotation}`);
      assert.equal(s.normal, 1, `rotation ${rotation}`);
    }
  });

  it('with one credit per cycle, high waits at most one cycle (never two slots of other levels in a row)', () => {
    for (let rotation = 0; rotation < 11; rotation++) {
      const a = splitByPriority(1, due(1, 20_000, 20_000), W, rotation);
      const b = splitByPriority(1, due(1, 20_000, 20_000), W, rotation + 1);
      assert.ok(a.high + b.high >= 1, `rotation ${rotation}`);
    }
  });

  it('anti-starvation: while every level has due work, each gets its weight share of the releases', () => {
    const total = due(0, 0, 0);
    for (let rotation = 0; rotation < 110; rotation++) {
      const s = splitByPriority(1, due(1000, 1000, 1000), W, rotation);
      for (const p of PRIORITIES) total[p] += s[p];
    }
    assert.deepEqual(total, due(80, 20, 10));
    assert.deepEqual(splitByPriority(110, due(1000, 1000, 1000), W, 3), due(80, 20, 10));
  });

  it('slots of a level with nothing (more) due go to the highest level that still has', () => {
    assert.deepEqual(splitByPriority(11, due(2, 1000, 1000), W), due(2, 8, 1));
    assert.deepEqual(splitByPriority(11, due(1000, 0, 0), W), due(11, 0, 0));
    assert.deepEqual(splitByPriority(11, due(0, 1, 1000), W), due(0, 1, 10));
  });

  it('never more than is due; nothing when n is 0', () => {
    assert.deepEqual(splitByPriority(100, due(1, 2, 3), W), due(1, 2, 3));
    assert.deepEqual(splitByPriority(0, due(5, 5, 5), W, 7), due(0, 0, 0));
  });

  it('refuses a negative or fractional n or due count', () => {
    assert.throws(() => splitByPriority(-1, due(0, 0, 0), W), RangeError);
    assert.throws(() => splitByPriority(1.5, due(0, 0, 0), W), RangeError);
    assert.throws(() => splitByPriority(1, due(0, -1, 0), W), RangeError);
  });
});
