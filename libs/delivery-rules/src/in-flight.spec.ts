import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inFlightPresumedLostAfterMs, recordRetryDelayMs } from './in-flight';

describe('inFlightPresumedLostAfterMs', () => {
  it('is the attempt timeout plus the grace period', () => {
    assert.equal(inFlightPresumedLostAfterMs({ attemptTimeoutMs: 15_000, graceMs: 60_000 }), 75_000);
  });
});

describe('recordRetryDelayMs', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
  it('doubles from the base and is capped', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => recordRetryDelayMs(policy, n, 0, 1e9));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  });
  it('gives up when the next try would land past the in-flight cutoff', () => {
    assert.equal(recordRetryDelayMs(policy, 1, 1000, 1099), null);
    assert.equal(recordRetryDelayMs(policy, 1, 1000, 1101), 100);
  });
});
