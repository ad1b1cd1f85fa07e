import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from './support/free-port';
import { createScratchDatabase, waitFor } from './support/scratch-db';
import { builtMain, exited } from './support/stack';
import { TEST_ENV } from './support/test-env';

const ROOT = join(__dirname, '..', '..');

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

  it('refuses a delivery cap per request below the endpoint cap (one event could never fit)', async () => {
    const r = await run('api', { MAX_ENDPOINTS_PER_APPLICATION: '50', MAX_DELIVERIES_PER_REQUEST: '49' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /MAX_DELIVERIES_PER_REQUEST: 49 is below MAX_ENDPOINTS_PER_APPLICATION \(50\)/);
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

/** A process whose stdout and stderr (piped: not a terminal) are kept together, stopped with SIGTERM. */
function logged(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...TEST_ENV, WORKER_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await done;
  clearTimeout(timer);
}

describe("a newcomer's terminal (issue #7)", () => {
  it('npm start ends with a banner (API, docs, dashboard, which key, workers); logs off a terminal stay JSON, no route lines at info', async () => {
    const db = await createScratchDatabase('banner');
    const port = await freePort();
    const run = logged(['scripts/start.mjs'], {
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      QUEUE_PREFIX: `t${randomBytes(4).toString('hex')}`,
      PORT: String(port),
    });
    try {
      await waitFor('the banner', async () => /Ctrl\+C stops it/.test(run.output()), 30_000);
      const out = run.output();
      const url = `http://127.0.0.1:${port}`;
      assert.match(out, /Tern is up/);
      assert.ok(out.includes(`API        ${url}\n`), out);
      assert.ok(out.includes(`API docs   ${url}/docs\n`), out);
      assert.ok(out.includes(`Dashboard  ${url}/dashboard  (sign in with ADMIN_API_KEY`), out);
      assert.match(out, /Worker +running: worker#0 \(pid \d+, concurrency \d+\)/);
      assert.ok(!out.includes(TEST_ENV.ADMIN_API_KEY), 'the banner names the key, never shows it');

      assert.doesNotMatch(out, /Mapped \{/, 'per-route lines are debug');
      const logLines = out.split('\n').filter((l) => l.startsWith('{'));
      const msgs = logLines.map((l) => (JSON.parse(l) as { msg: string }).msg);
      assert.ok(msgs.includes('Nest application successfully started'), out);
    } finally {
      await stop(run.child);
      await db.drop();
    }
  });

  it('LOG_FORMAT=pretty: one readable line per log, requests as method, path, status and time', async () => {
    const port = await freePort();
    const api = logged([builtMain('api')], { LOG_LEVEL: 'info', LOG_FORMAT: 'pretty', PORT: String(port) });
    try {
      await waitFor('the API to listen', async () => /listening on/.test(api.output()), 30_000);
      assert.equal((await fetch(`http://127.0.0.1:${port}/no-such-page`)).status, 404);
      await waitFor('the request line', async () => / GET \/no-such-page 404 \d+ ms/.test(api.output()));
      const lines = api.output().trimEnd().split('\n');
      assert.ok(
        lines.some((l) =>
          /^\[[\d:.]+\] INFO.*: tern-api \[NestApplication\] Nest application successfully started$/.test(l),
        ),
        api.output(),
      );
      assert.ok(!lines.some((l) => l.startsWith('{')), `no JSON lines:\n${api.output()}`);
      assert.doesNotMatch(api.output(), /Mapped \{/);
    } finally {
      await stop(api.child);
    }
  });
});
