// Installs the small side projects under tools/ (each with its own package.json + package-lock.json, e.g.
// tools/schema-diff with Prisma 6, kept apart from the root's Prisma 7) when their node_modules is missing or was
// installed from a different lock file. `npm test` runs this first; it is a no-op when everything is current.
// Usage: node scripts/ensure-tools.mjs [--force]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const force = process.argv.includes('--force');
// Written into node_modules after a successful install; `npm ci` deletes node_modules first, so a failed or
// interrupted install never leaves a stamp behind.
const STAMP = '.tern-installed-lock.sha256';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const toolsDir = join(root, 'tools');
const projects = existsSync(toolsDir)
  ? readdirSync(toolsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(toolsDir, d.name, 'package-lock.json')))
      .map((d) => join(toolsDir, d.name))
  : [];

for (const dir of projects) {
  const name = relative(root, dir);
  const hash = createHash('sha256')
    .update(readFileSync(join(dir, 'package.json')))
    .update('\0')
    .update(readFileSync(join(dir, 'package-lock.json')))
    .digest('hex');
  const stampPath = join(dir, 'node_modules', STAMP);
  const installed = existsSync(stampPath) ? readFileSync(stampPath, 'utf8').trim() : '';
  if (!force && installed === hash) continue;
  console.log(`ensure-tools: installing ${name} (${installed ? 'lock file changed' : 'not installed'})`);
  // --ignore-scripts: nothing here needs install scripts (Prisma's would try to download engines).
  const r = spawnSync(npm, ['ci', '--prefix', dir, '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error(`ensure-tools: npm ci --prefix ${name} failed`);
    process.exit(r.status ?? 1);
  }
  writeFileSync(stampPath, `${hash}\n`);
}
