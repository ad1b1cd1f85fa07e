import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createStatementNamer } from './prisma.service';

it('names each distinct statement once, stably, and stops naming past the bound', () => {
  const name = createStatementNamer(2);
  const a = name({ sql: 'SELECT 1' });
  assert.match(a, /^tern_[0-9a-f]{24}$/);
  assert.equal(name({ sql: 'SELECT 1' }), a);
  const b = name({ sql: 'SELECT 2' });
  assert.notEqual(b, a);
  assert.equal(name({ sql: 'SELECT 3' }), '');
  assert.equal(name({ sql: 'SELECT 2' }), b);
});
