import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { THROTTLE_DELAY_MAX_MS, THROTTLE_DELAY_MIN_MS, ThrottleBackoff } from './throttle-backoff';

describe('ThrottleBackoff', () => {
  const half = () => 0.5; // no jitter

  it('starts at the minimum delay', () => {
    const b = new ThrottleBackoff(() => 0);
    assert.equal(b.bounce('ep', half), THROTTLE_DELAY_MIN_MS);
  });

  it('grows fast for an endpoint whose jobs bounce far more often than its attempts complete (a black hole)', () => {
    let t = 0;
    const b = new ThrottleBackoff(() => t);
    for (let i = 0; i < 1000; i++) b.bounce('hole', half); // 1,000 bounces, no completion, in one window
    t = 1000;
    assert.equal(b.bounce('hole', half), THROTTLE_DELAY_MAX_MS);
  });

  it('stays at the minimum when bounces are in line with completions (a busy but healthy endpoint)', () => {
    let t = 0;
    const b = new ThrottleBackoff(() => t);
    for (let w = 0; w < 5; w++) {
      for (let i = 0; i < 100; i++) b.completed('busy');
      for (let i = 0; i < 50; i++) b.bounce('busy', half);
      t += 1000;
    }
    assert.equal(b.bounce('busy', half), THROTTLE_DELAY_MIN_MS);
  });

  it('comes back down once the endpoint completes attempts again', () => {
    let t = 0;
    const b = new ThrottleBackoff(() => t);
    for (let i = 0; i < 1000; i++) b.bounce('ep', half);
    t = 1000;
    b.bounce('ep', half);
    const high = b.delayFor('ep');
    for (let w = 0; w < 10; w++) {
      t += 1000;
      for (let i = 0; i < 10; i++) b.completed('ep');
      b.bounce('ep', half);
    }
    assert.ok(b.delayFor('ep') < high, `${b.delayFor('ep')} should be below ${high}`);
    assert.equal(b.delayFor('ep'), THROTTLE_DELAY_MIN_MS);
  });

  it('keeps endpoints apart', () => {
    let t = 0;
    const b = new ThrottleBackoff(() => t);
    for (let i = 0; i < 1000; i++) b.bounce('hole', half);
    t = 1000;
    b.bounce('hole', half);
    assert.equal(b.bounce('other', half), THROTTLE_DELAY_MIN_MS);
  });
});
