import { INestApplicationContext } from '@nestjs/common';
import { loadConfig } from '@tern/config';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { ApiHarness } from './api-harness';
import { createScratchDatabase } from './scratch-db';

/** Settings that make the whole retry schedule run in seconds. */
export const FAST_DELIVERY_ENV = {
  RETRY_BASE_DELAY_MS: '200',
  RETRY_MAX_DELAY_MS: '1000',
  RETRY_JITTER: '0',
  DISPATCH_INTERVAL_MS: '200',
  RECONCILER_INTERVAL_MS: '500',
  RECONCILER_GRACE_MS: '1000',
  DELIVERY_ATTEMPT_TIMEOUT_MS: '1500',
  JOB_LOCK_DURATION_MS: '2000',
  JOB_STALLED_INTERVAL_MS: '1000',
  ENDPOINT_CACHE_TTL_MS: '1000',
};

/** API + worker in this process, on their own scratch database and Redis key prefix. */
export class TestStack {
  private constructor(
    readonly api: ApiHarness,
    public worker: INestApplicationContext | null,
    readonly env: Record<string, string>,
    private readonly dropDb: () => Promise<void>,
  ) {}

  static async start(
    label: string,
    env: Record<string, string> = {},
    opts: { worker?: boolean } = {},
  ): Promise<TestStack> {
    const db = await createScratchDatabase(label);
    const full = {
      ...FAST_DELIVERY_ENV,
      DATABASE_URL: db.url,
      QUEUE_PREFIX: `t${randomBytes(4).toString('hex')}`,
      ...env,
    };
    const api = await ApiHarness.start(full);
    const stack = new TestStack(api, null, full, db.drop);
    if (opts.worker !== false) await stack.startWorker();
    return stack;
  }

  get databaseUrl(): string {
    return this.env.DATABASE_URL;
  }

  async startWorker(): Promise<void> {
    Object.assign(process.env, this.env);
    this.worker = await createWorkerApp(loadConfig());
  }

  async stopWorker(): Promise<void> {
    await this.worker?.close();
    this.worker = null;
  }

  async stop(): Promise<void> {
    await this.stopWorker();
    await this.api.stop();
    await this.dropDb();
  }
}

/** The built entry point (dist/apps/<app>/src/main.js) of the API or the worker, for running it as a process. */
export function builtMain(app: 'api' | 'worker'): string {
  return join(__dirname, `../../apps/${app}/src/main.js`);
}

/** A worker as a real child process (dist build), for crash and multi-process tests. */
export function spawnWorker(env: Record<string, string>, label = 'worker'): ChildProcess {
  const child = spawn(process.execPath, [builtMain('worker')], {
    env: { ...process.env, ...env, MIGRATE_ON_START: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const verbose = process.env.TEST_LOG_LEVEL && process.env.TEST_LOG_LEVEL !== 'silent';
  child.stdout?.on('data', (d: Buffer) => verbose && process.stdout.write(`[${label}] ${d.toString()}`));
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${label}] ${d.toString()}`));
  return child;
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });
}
