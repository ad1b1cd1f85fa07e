// Runs the test suite on the compiled tree (dist/): unit tests (*.spec.js, next to the code) and end-to-end
// tests (test/**/*.e2e-spec.js) with Node's own test runner. Usage: node scripts/test.mjs [unit|e2e] [filter...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [kind = 'all', ...filters] = process.argv.slice(2);
function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}
const files = walk('dist')
  .filter(
    (f) =>
      (kind !== 'e2e' && /\.spec\.js$/.test(f) && !f.startsWith('dist/test/')) ||
      (kind !== 'unit' && /\.e2e-spec\.js$/.test(f)),
  )
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}
if (kind !== 'unit') {
  const setup = spawnSync(process.execPath, ['dist/test/support/global-setup.js'], { stdio: 'inherit' });
  if (setup.status !== 0) process.exit(setup.status ?? 1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '3';
// The fault-injection run measures recovery against a deadline: it runs on its own, after the others, so two
// other test files competing for the machine's cores can't make it miss (it failed that way in CI once).
const ALONE = /chaos\.e2e-spec\.js$/;
const run = (list, n) =>
  list.length === 0
    ? 0
    : (spawnSync(
        process.execPath,
        ['--enable-source-maps', '--test', `--test-concurrency=${n}`, '--test-reporter=spec', ...list],
        { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
      ).status ?? 1);
const shared = run(
  files.filter((f) => !ALONE.test(f)),
  concurrency,
);
const alone = run(
  files.filter((f) => ALONE.test(f)),
  '1',
);
process.exit(shared || alone);
