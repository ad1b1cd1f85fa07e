import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DispatchWaker } from './dispatch-waker';

describe('DispatchWaker', () => {
  it('folds many pokes into few wake-ups, and never loses the last one', async () => {
    let wakes = 0;
    const w = new DispatchWaker(
      async () => {
        wakes++;
        await sleep(20);
      },
      () => undefined,
      5,
    );
    for (let i = 0; i < 100; i++) w.poke();
    await sleep(10);
    assert.equal(wakes, 1);
    w.poke(); // during the first wake-up: one more afterwards
    await sleep(60);
    assert.equal(wakes, 2);
    w.stop();
  });

  it('reports errors instead of throwing, and stops', async () => {
    const errors: unknown[] = [];
    let wakes = 0;
    const w = new DispatchWaker(
      async () => {
        wakes++;
        throw new Error('db down');
      },
      (e) => errors.push(e),
      1,
    );
    w.poke();
    await sleep(20);
    assert.equal(errors.length, 1);
    w.stop();
    w.poke();
    await sleep(20);
    assert.equal(wakes, 1);
  });
});
