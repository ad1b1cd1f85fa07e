// `npm run up`: one command from a fresh clone to a running platform on local defaults.
// Installs dependencies, writes .env with fresh random keys (once), builds, migrates, then runs API + worker.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (!existsSync('node_modules/.package-lock.json')) run('npm', ['ci', '--no-audit', '--no-fund']);
if (!existsSync('.env')) {
  const env = readFileSync('.env.example', 'utf8')
    .replace(/^ADMIN_API_KEY=.*$/m, `ADMIN_API_KEY=admin_${randomBytes(24).toString('base64url')}`)
    .replace(/^SECRETS_ENCRYPTION_KEY=.*$/m, `SECRETS_ENCRYPTION_KEY=${randomBytes(32).toString('base64')}`);
  writeFileSync('.env', env, { mode: 0o600 });
  console.log('wrote .env with a new ADMIN_API_KEY and SECRETS_ENCRYPTION_KEY');
}
run('npm', ['run', 'build', '--silent']);
run('node', ['scripts/start.mjs']);
