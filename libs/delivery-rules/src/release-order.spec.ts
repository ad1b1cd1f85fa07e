import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  nextPrioritySlot,
  PRIORITIES,
  prioritySchedule,
  prioritySequence,
  splitByPriority,
} from './release-order';

const W = prioritySchedule({ high: 8, normal: 2, low: 1 });
const due = (high: number, normal: number, low: number) => ({ high, normal, low });

describe('prioritySequence', () => {
  it('holds each level weight times, spread evenly, ties to the higher level', () => {
    assert.deepEqual(
      prioritySequence(W.weights).join(' '),
      'high high normal high high low high high normal high high',
    );
    assert.deepEqual(prioritySequence({ high: 1, normal: 1, low: 1 }), [...PRIORITIES]);
  });

  it('refuses weights below 1 or fractional', () => {
    assert.throws(() => prioritySequence({ high: 8, normal: 0, low: 1 }), RangeError);
    assert.throws(() => prioritySequence({ high: 1.5, normal: 1, low: 1 }), RangeError);
    assert.throws(() => prioritySchedule({ high: 8, normal: 2, low: 0 }), /weight of low/);
  });
});

describe('splitByPriority', () => {
  it('one level due: it takes the whole grant', () => {
    assert.deepEqual(splitByPriority(5, due(0, 20_000, 0), W), due(0, 5, 0));
    assert.deepEqual(splitByPriority(5, due(0, 0, 3), W), due(0, 0, 3));
  });

  it('a high delivery behind a normal backlog is released in the first cycle with two credits', () => {
    for (let slot = 0; slot < 11; slot++) {
      const s = splitByPriority(2, due(1, 20_000, 0), W, slot);
      assert.equal(s.high, 1, `slot ${slot}`);
      assert.equal(s.normal, 1, `slot ${slot}`);
    }
  });

  it('with one credit per cycle, high waits at most one cycle (never two slots of other levels in a row)', () => {
    for (let slot = 0; slot < 11; slot++) {
      const a = splitByPriority(1, due(1, 20_000, 20_000), W, slot);
      const b = splitByPriority(1, due(1, 20_000, 20_000), W, nextPrioritySlot(slot, 1, W));
      assert.ok(a.high + b.high >= 1, `slot ${slot}`);
    }
  });

  it('anti-starvation: while every level has due work, each gets its weight share of the releases', () => {
    // Releases of varying size, each continuing where the last stopped: 110 releases in all.
    const total = due(0, 0, 0);
    let slot = 0;
    for (const n of [1, 3, 2, 5, 1, 7, 11, 4, 6, 9, 10, 2, 8, 13, 5, 3, 20]) {
      const s = splitByPriority(n, due(1000, 1000, 1000), W, slot);
      for (const p of PRIORITIES) total[p] += s[p];
      slot = nextPrioritySlot(slot, n, W);
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

  it('nextPrioritySlot: the position after n releases, kept below the sequence length', () => {
    assert.equal(nextPrioritySlot(0, 3, W), 3);
    assert.equal(nextPrioritySlot(9, 5, W), 3);
    assert.equal(nextPrioritySlot(0, 110, W), 0);
  });
});
