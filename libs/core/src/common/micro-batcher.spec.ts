import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MicroBatcher } from './micro-batcher';

describe('MicroBatcher', () => {
  it('groups calls made together into one flush and hands each caller its own result', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>(
      async (xs) => {
        batches.push(xs);
        return xs.map((x) => x * 10);
      },
      100,
      5,
    );
    const out = await Promise.all([1, 2, 3].map((x) => b.add(x)));
    assert.deepEqual(out, [10, 20, 30]);
    assert.deepEqual(batches, [[1, 2, 3]]);
  });

  it('flushes as soon as maxSize items are waiting', async () => {
    const sizes: number[] = [];
    const b = new MicroBatcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        return xs;
      },
      2,
      10_000,
    );
    const started = Date.now();
    await Promise.all([1, 2, 3, 4].map((x) => b.add(x)));
    assert.deepEqual(sizes, [2, 2]);
    assert.ok(Date.now() - started < 5000);
  });

  it('rejects every caller of a failed batch, and later batches still work', async () => {
    let fail = true;
    const b = new MicroBatcher<number, number>(
      async (xs) => {
        if (fail) throw new Error('db down');
        return xs;
      },
      10,
      1,
    );
    const results = await Promise.allSettled([b.add(1), b.add(2)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    fail = false;
    assert.equal(await b.add(3), 3);
  });

  it('drain() waits for batches in flight', async () => {
    let done = false;
    const b = new MicroBatcher<number, number>(
      async (xs) => {
        await new Promise((r) => setTimeout(r, 30));
        done = true;
        return xs;
      },
      10,
      1000,
    );
    void b.add(1);
    await b.drain();
    assert.equal(done, true);
  });
});
