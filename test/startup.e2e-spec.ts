import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { builtMain } from './support/stack';
import { TEST_ENV } from './support/test-env';

function run(
  app: 'api' | 'worker',
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtMain(app)], {
      env: { PATH: process.env.PATH ?? '', ...TEST_ENV, PORT: '0', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('startup checks', () => {
  it('a bad setting stops the process with a message naming each variable, no stack trace', async () => {
    const r = await run('api', { ADMIN_API_KEY: 'short', RETRY_JITTER: '2', PORT: 'eighty' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ADMIN_API_KEY: must be at least 32 characters/);
    assert.match(r.stderr, /RETRY_JITTER/);
    assert.match(r.stderr, /PORT/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.doesNotMatch(r.stderr, /short/, 'the key value itself is not echoed');
  });

  it('refuses a 31-character admin key and a retention shorter than the delivery deadline (issue #8)', async () => {
    const r = await run('worker', {
      ADMIN_API_KEY: 'k'.repeat(31),
      RETENTION_DAYS: '1',
      DELIVERY_DEADLINE_SECONDS: '172800',
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ADMIN_API_KEY: must be at least 32 characters/);
    assert.match(
      r.stderr,
      /RETENTION_DAYS: 1 day\(s\) is shorter than DELIVERY_DEADLINE_SECONDS \(172800 s\)/,
    );
    assert.doesNotMatch(r.stderr, /IDEMPOTENCY_WINDOW_SECONDS/, 'the default 1-day window fits in 1 day');
  });

  it('unreachable Redis: says which and how to start it', async () => {
    const r = await run('worker', { REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Redis is not reachable at redis:\/\/127\.0\.0\.1:1/);
    assert.match(r.stderr, /docker compose up -d redis/);
  });

  it('unreachable Postgres: says which and how to start it', async () => {
    const r = await run('api', { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/tern' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /PostgreSQL is not reachable/);
    assert.match(r.stderr, /docker compose up -d postgres/);
  });
});
