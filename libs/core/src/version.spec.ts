import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { TERN_VERSION } from './version';

it('TERN_VERSION matches package.json', () => {
  const root = __dirname.includes(`${join('dist', 'libs')}`)
    ? join(__dirname, '../../../..')
    : join(__dirname, '../../..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(TERN_VERSION, pkg.version);
});
