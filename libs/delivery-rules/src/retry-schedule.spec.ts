import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RETRY_POLICY, describeSchedule, nextAttemptAt, RetryPolicy } from './retry-schedule';

const HOUR = 3600_000;
const now = new Date('2026-11-25T12:00:00Z');
const farDeadline = new Date(now.getTime() + 30 * 24 * HOUR);
const noJitter: RetryPolicy = { baseDelayMs: 5000, maxDelayMs: HOUR, jitter: 0 };

function delayOf(at: Date | null): number {
  assert.ok(at, 'expected a next attempt');
  return at.getTime() - now.getTime();
}

describe('nextAttemptAt', () => {
  it('doubles from the base delay: 5 s, 10 s, 20 s, 40 s ...', () => {
    const delays = [1, 2, 3, 4, 5].map((n) => delayOf(nextAttemptAt(noJitter, n, now, farDeadline)));
    assert.deepEqual(delays, [5000, 10_000, 20_000, 40_000, 80_000]);
  });

  it('first retry within seconds with the default policy', () => {
    const d = delayOf(nextAttemptAt(DEFAULT_RETRY_POLICY, 1, now, farDeadline));
    assert.ok(d >= 4000 && d <= 6000, String(d));
  });

  it('is monotonic (without jitter) and capped at maxDelayMs, even for huge attempt numbers', () => {
    let previous = 0;
    for (let n = 1; n <= 2000; n++) {
      const d = delayOf(nextAttemptAt(noJitter, n, now, farDeadline));
      assert.ok(d >= previous, `attempt ${n}: ${d} < ${previous}`);
      assert.ok(d <= HOUR);
      previous = d;
    }
    assert.equal(previous, HOUR);
  });

  it('spreads by ±jitter and never exceeds maxDelayMs', () => {
    const policy: RetryPolicy = { baseDelayMs: 10_000, maxDelayMs: HOUR, jitter: 0.2 };
    assert.equal(delayOf(nextAttemptAt(policy, 1, now, farDeadline, undefined, () => 0)), 8000);
    assert.equal(delayOf(nextAttemptAt(policy, 1, now, farDeadline, undefined, () => 0.5)), 10_000);
    assert.equal(delayOf(nextAttemptAt(policy, 1, now, farDeadline, undefined, () => 0.999999)), 12_000);
    // At the cap, the upper half of the spread is clamped.
    assert.equal(delayOf(nextAttemptAt(policy, 30, now, farDeadline, undefined, () => 1)), HOUR);
    assert.equal(delayOf(nextAttemptAt(policy, 30, now, farDeadline, undefined, () => 0)), 0.8 * HOUR);
    for (let i = 0; i < 1000; i++) {
      const d = delayOf(nextAttemptAt(policy, 3, now, farDeadline));
      assert.ok(d >= 32_000 && d <= 48_000, String(d));
    }
  });

  it('uses Retry-After when it is longer than the computed delay, clamped to maxDelayMs, without jitter', () => {
    const policy: RetryPolicy = { baseDelayMs: 5000, maxDelayMs: HOUR, jitter: 0.2 };
    assert.equal(delayOf(nextAttemptAt(policy, 1, now, farDeadline, 120_000, () => 0.9)), 120_000);
    assert.equal(delayOf(nextAttemptAt(policy, 1, now, farDeadline, 10 * HOUR)), HOUR);
    // Shorter than the backoff: the backoff wins.
    assert.equal(delayOf(nextAttemptAt(noJitter, 3, now, farDeadline, 1000)), 20_000);
    assert.equal(delayOf(nextAttemptAt(noJitter, 3, now, farDeadline, 0)), 20_000);
  });

  it('returns null when the next attempt would start after the deadline', () => {
    const deadline = new Date(now.getTime() + 20_000);
    assert.equal(delayOf(nextAttemptAt(noJitter, 3, now, deadline)), 20_000); // exactly at the deadline: allowed
    assert.equal(nextAttemptAt(noJitter, 4, now, deadline), null);
    assert.equal(nextAttemptAt(noJitter, 1, now, deadline, 60_000), null); // Retry-After pushes it past
    assert.equal(nextAttemptAt(noJitter, 1, now, new Date(now.getTime() - 1)), null);
  });

  it('rejects bad input', () => {
    assert.throws(() => nextAttemptAt(noJitter, 0, now, farDeadline), RangeError);
    assert.throws(() => nextAttemptAt(noJitter, 1.5, now, farDeadline), RangeError);
    assert.throws(() => nextAttemptAt({ ...noJitter, baseDelayMs: 0 }, 1, now, farDeadline), RangeError);
    assert.throws(() => nextAttemptAt({ ...noJitter, maxDelayMs: 1000 }, 1, now, farDeadline), RangeError);
    assert.throws(() => nextAttemptAt({ ...noJitter, jitter: 1 }, 1, now, farDeadline), RangeError);
  });
});

describe('describeSchedule', () => {
  it('lists the nominal delays that fit in the deadline', () => {
    assert.deepEqual(describeSchedule(noJitter, 75_000), [5000, 10_000, 20_000, 40_000]);
    assert.deepEqual(describeSchedule(noJitter, 74_999), [5000, 10_000, 20_000]);
    assert.deepEqual(describeSchedule(noJitter, 4999), []);
  });

  it('the default policy over 24 h: doubling from 5 s to the 2 h cap, then every 2 h', () => {
    const delays = describeSchedule(DEFAULT_RETRY_POLICY, 24 * HOUR);
    assert.deepEqual(delays.slice(0, 4), [5000, 10_000, 20_000, 40_000]);
    assert.equal(delays.reduce((a, b) => a + b, 0) <= 24 * HOUR, true);
    assert.equal(delays.at(-1), 2 * HOUR);
    for (let i = 1; i < delays.length; i++) assert.ok(delays[i] >= delays[i - 1]);
    // 5 s · (2^11 − 1) ≈ 2.8 h in 11 doubling steps, then ten 2 h waits.
    assert.equal(delays.length, 21);
  });

  it('agrees with nextAttemptAt without jitter', () => {
    const delays = describeSchedule(noJitter, 10 * HOUR);
    delays.forEach((d, i) => assert.equal(delayOf(nextAttemptAt(noJitter, i + 1, now, farDeadline)), d));
  });
});
