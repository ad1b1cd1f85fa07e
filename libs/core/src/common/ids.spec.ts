import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isId, newId } from './ids';

describe('newId', () => {
  it('has the fixed shape, sorts by time, and never repeats across pool refills', () => {
    const seen = new Set<string>();
    const n = 3 * 1024 + 7; // three refills of the 1,024-id random pool, and part of a fourth
    for (let i = 0; i < n; i++) {
      const id = newId('evt', 1_700_000_000_000 + i);
      assert.ok(isId('evt', id), id);
      seen.add(id.slice(-16));
    }
    assert.equal(seen.size, n, 'every id has its own random part');
    assert.ok(newId('dlv', 1) < newId('dlv', 2));
  });
});
