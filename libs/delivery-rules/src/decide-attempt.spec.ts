import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideAttempt } from './decide-attempt';

const policy = { baseDelayMs: 1000, maxDelayMs: 60_000, jitter: 0 };
const now = new Date('2026-12-06T10:00:00.000Z');
const position = { attemptNumber: 1, attemptBase: 0, deadlineAt: new Date(now.getTime() + 3600_000) };

describe('decideAttempt', () => {
  it('a 2xx succeeds: nothing next, no error', () => {
    assert.deepEqual(decideAttempt(position, { statusCode: 204 }, policy, now), {
      outcome: 'succeeded',
      nextAttemptAt: null,
      lastError: null,
      errorMessage: null,
      disableEndpoint: false,
    });
  });

  it('a 500 retries after the backoff of the current series', () => {
    const d = decideAttempt(
      { ...position, attemptNumber: 5, attemptBase: 3 },
      { statusCode: 500 },
      policy,
      now,
    );
    assert.equal(d.outcome, 'retrying');
    assert.equal(d.nextAttemptAt?.getTime(), now.getTime() + 2000, 'second attempt of the series: base × 2');
    assert.equal(d.lastError, 'http_500');
    assert.ok(d.errorMessage);
  });

  it('Retry-After on a 429 is honoured', () => {
    const d = decideAttempt(
      position,
      { statusCode: 429, responseHeaders: { 'retry-after': '30' } },
      policy,
      now,
    );
    assert.equal(d.nextAttemptAt?.getTime(), now.getTime() + 30_000);
  });

  it('a retryable failure with no time left before the deadline fails, and says so', () => {
    const late = { ...position, deadlineAt: new Date(now.getTime() + 100) };
    const d = decideAttempt(late, { errorClass: 'timeout', errorMessage: 'timed out' }, policy, now);
    assert.deepEqual(
      { outcome: d.outcome, next: d.nextAttemptAt, lastError: d.lastError, message: d.errorMessage },
      { outcome: 'failed', next: null, lastError: 'timeout; deadline_exceeded', message: 'timed out' },
    );
  });

  it('a 400 fails at once; a 410 also disables the endpoint', () => {
    assert.equal(decideAttempt(position, { statusCode: 400 }, policy, now).outcome, 'failed');
    const gone = decideAttempt(position, { statusCode: 410 }, policy, now);
    assert.deepEqual([gone.outcome, gone.disableEndpoint, gone.lastError], ['failed', true, 'http_410']);
  });

  it('a blocked destination fails without a retry', () => {
    const d = decideAttempt(position, { errorClass: 'destination_blocked' }, policy, now);
    assert.deepEqual([d.outcome, d.lastError], ['failed', 'destination_blocked']);
  });
});
