import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InsertCoalescer } from './insert-coalescer';

type Row = { id: string };

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}

describe('InsertCoalescer', () => {
  it('writes at once when idle and groups what arrives while the slots are busy', async () => {
    const calls: string[][] = [];
    const gate = deferred();
    const c = new InsertCoalescer<Row, Row>(
      async (rows) => {
        calls.push(rows.map((r) => r.id));
        await gate.promise;
        return rows;
      },
      () => true,
      1,
      10,
    );
    const first = c.add({ id: 'a' });
    const rest = ['b', 'c', 'd'].map((id) => c.add({ id }));
    assert.deepEqual(calls, [['a']]);
    gate.release();
    assert.deepEqual(await first, { id: 'a' });
    assert.deepEqual(await Promise.all(rest), [{ id: 'b' }, { id: 'c' }, { id: 'd' }]);
    assert.deepEqual(calls, [['a'], ['b', 'c', 'd']]);
  });

  it('answers null for rows the insert skipped', async () => {
    const c = new InsertCoalescer<Row, Row>(
      async (rows) => rows.filter((r) => r.id !== 'dup'),
      () => true,
      1,
      10,
    );
    assert.deepEqual(await Promise.all([c.add({ id: 'x' }), c.add({ id: 'dup' })]), [{ id: 'x' }, null]);
  });

  it('after a statement error, retries rows alone so only the bad one fails', async () => {
    const gate = deferred();
    let n = 0;
    const c = new InsertCoalescer<Row, Row>(
      async (rows) => {
        if (n++ === 0) await gate.promise;
        if (rows.some((r) => r.id === 'bad')) throw new Error('constraint');
        return rows;
      },
      () => true,
      1,
      10,
    );
    const first = c.add({ id: 'first' });
    const group = [c.add({ id: 'ok1' }), c.add({ id: 'bad' }), c.add({ id: 'ok2' })];
    gate.release();
    await first;
    const settled = await Promise.allSettled(group);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
  });

  it('fails every row of the statement on other errors (the outcome is unknown)', async () => {
    const gate = deferred();
    let n = 0;
    const c = new InsertCoalescer<Row, Row>(
      async (rows) => {
        if (n++ === 0) {
          await gate.promise;
          return rows;
        }
        throw new Error('connection lost');
      },
      () => false,
      1,
      10,
    );
    const first = c.add({ id: 'first' });
    const group = [c.add({ id: 'a' }), c.add({ id: 'b' })];
    gate.release();
    await first;
    const settled = await Promise.allSettled(group);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['rejected', 'rejected'],
    );
    assert.equal(n, 2);
  });
});
