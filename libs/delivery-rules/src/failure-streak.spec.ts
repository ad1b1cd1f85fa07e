import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advanceFailureStreak } from './failure-streak';

const fresh = { failures: 0, reenabled: false };

describe('advanceFailureStreak', () => {
  it('counts failures and announces nothing without a success', () => {
    assert.deepEqual(advanceFailureStreak(fresh, [false, false], 2), {
      streak: { failures: 2, reenabled: false },
      recoveries: [],
    });
  });
  it('a success after at least `threshold` failures is a recovery, and restarts the streak', () => {
    const r = advanceFailureStreak({ failures: 1, reenabled: false }, [false, true, false], 2);
    assert.deepEqual(r.recoveries, [{ reason: 'failure_streak', failedAttempts: 2, index: 1 }]);
    assert.deepEqual(r.streak, { failures: 1, reenabled: false });
  });
  it('a success below the threshold is no recovery', () => {
    assert.deepEqual(advanceFailureStreak({ failures: 1, reenabled: false }, [true], 2).recoveries, []);
  });
  it('the first success after a re-enable is a recovery (re_enabled), the next one is not', () => {
    const r = advanceFailureStreak({ failures: 0, reenabled: true }, [true, true], 5);
    assert.deepEqual(r.recoveries, [{ reason: 're_enabled', failedAttempts: 0, index: 0 }]);
    assert.deepEqual(r.streak, fresh);
  });
  it('a long streak wins over the re-enable marker', () => {
    const r = advanceFailureStreak({ failures: 4, reenabled: true }, [false, true], 5);
    assert.deepEqual(r.recoveries, [{ reason: 'failure_streak', failedAttempts: 5, index: 1 }]);
  });
  it('each recovery is announced once, even with several in one batch', () => {
    const r = advanceFailureStreak(fresh, [false, false, true, true, false, false, true], 2);
    assert.deepEqual(
      r.recoveries.map((x) => x.index),
      [2, 6],
    );
  });
});
