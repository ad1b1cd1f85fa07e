import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureDatabase, migrate } from '@tern/database';
import { freePort } from '../support/free-port';
import { PrivateRedis } from '../support/redis-server';
import { sql, waitFor } from '../support/scratch-db';
import { builtMain } from '../support/stack';
import { TcpProxy } from '../support/tcp-proxy';
import { ChaosReceiver } from './chaos-receiver';
import { PrivatePostgres } from './private-postgres';

export interface ChaosOptions {
  /** Events sent (each to every endpoint). */
  events: number;
  endpoints: number;
  /** Seeds the receivers' reply plans. */
  seed: string;
  /** Events per batch request. */
  batchSize: number;
  /** The sending is spread over this long, so faults hit it mid-stream. */
  loadMs: number;
  /** Pause between two faults. */
  faultGapMs: number;
  /** After the last fault, how long every delivery has to finish. */
  settleTimeoutMs: number;
  /** Allowed share of (event, endpoint) pairs that got more than one 2xx. */
  maxDuplicateShare: number;
  log: (line: string) => void;
}

export const DEFAULT_CHAOS: Omit<ChaosOptions, 'log'> = {
  events: 3000,
  endpoints: 20,
  seed: 'tern-chaos',
  batchSize: 25,
  loadMs: 25_000,
  faultGapMs: 3500,
  settleTimeoutMs: 180_000,
  maxDuplicateShare: 0.002,
};

export interface ChaosCheck {
  name: string;
  passed: boolean;
  detail: string;
}

export interface ChaosReport {
  checks: ChaosCheck[];
  figures: Record<string, number>;
  logDir: string;
}

/** Attempt timeout in the run; `hang` replies outlast it. */
const ATTEMPT_TIMEOUT_MS = 2000;
/** Settings of the processes under test: fast retries, short timeouts, so a run takes a minute or two. */
const CHAOS_ENV = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  ADMIN_API_KEY: 'chaos-admin-key-0123456789abcdef-0123',
  SECRETS_ENCRYPTION_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
  SSRF_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
  MIGRATE_ON_START: 'false',
  WORKER_METRICS_PORT: '0',
  QUEUE_PREFIX: 'chaos',
  RETRY_BASE_DELAY_MS: '200',
  RETRY_MAX_DELAY_MS: '1000',
  RETRY_JITTER: '0',
  DISPATCH_INTERVAL_MS: '200',
  RECONCILER_INTERVAL_MS: '1000',
  RECONCILER_GRACE_MS: '6000',
  DELIVERY_ATTEMPT_TIMEOUT_MS: String(ATTEMPT_TIMEOUT_MS),
  DELIVERY_CONNECT_TIMEOUT_MS: '1000',
  JOB_LOCK_DURATION_MS: '2000',
  JOB_STALLED_INTERVAL_MS: '1000',
  ENDPOINT_CACHE_TTL_MS: '1000',
  SHUTDOWN_GRACE_MS: '8000',
  // Short cool-downs, as the retries are short: a circuit the faults open must be able to fail a probe or two (the
  // receiver's faults are planned per delivery, so a probe can draw one) and still close before the settle deadline.
  // With the defaults (30 s doubling) two failed probes keep it open for 90 s more.
  CIRCUIT_COOLDOWN_MIN_SECONDS: '2',
  CIRCUIT_COOLDOWN_MAX_SECONDS: '10',
};

/** What a process prints once it is up (the worker's and the API's start lines). */
const READY_LINE = /tern (worker running|api listening)/;

/**
 * A child process kept running: when it exits it is started again after `restartDelayMs`, until `retire()`. A start
 * that fails before the process is up (a dependency still down) is retried the same way and is not a fault.
 */
class Supervised {
  private child: ChildProcess | null = null;
  private retired = false;
  /** Exits of a process that was up, that no fault asked for. */
  unexpectedExits = 0;
  /** Exits after SIGTERM with a code other than 0 (a graceful stop must end cleanly). */
  uncleanStops = 0;
  private expecting: NodeJS.Signals | null = null;

  constructor(
    readonly name: string,
    private readonly main: string,
    private readonly env: Record<string, string>,
    private readonly logFile: string,
    private readonly restartDelayMs: number,
  ) {}

  start(): void {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, [this.main], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let up = false;
    child.stdout?.on('data', (d: Buffer) => {
      if (!up && READY_LINE.test(d.toString())) up = true;
      log.write(d);
    });
    child.stderr?.pipe(log);
    this.child = child;
    child.once('exit', (code) => {
      if (this.child !== child) return;
      this.child = null;
      if (this.expecting === 'SIGTERM' && code !== 0) this.uncleanStops++;
      if (!this.expecting && up) this.unexpectedExits++;
      if (!this.expecting || !up) log.write(`[chaos] ${this.name} exited (code ${code}, up: ${up})\n`);
      this.expecting = null;
      if (!this.retired) setTimeout(() => !this.retired && !this.child && this.start(), this.restartDelayMs);
    });
  }

  /** Sends `signal` (an injected fault) and resolves when the process has exited. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expecting = signal;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await gone;
  }

  retire(): void {
    this.retired = true;
    this.child?.kill('SIGKILL');
  }
}

/**
 * Runs Tern (an API and two workers, separate processes) on its own PostgreSQL cluster and Redis, sends
 * `events` events to `endpoints` loopback endpoints with seeded failures, injects faults in turn — worker SIGKILL,
 * Redis killed and restarted empty, PostgreSQL stopped and started, worker SIGTERM, a network stall between the
 * workers and PostgreSQL/Redis — and checks the delivery invariants. Cleans up whatever it started.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const cleanups: (() => Promise<unknown> | void)[] = [];
  const figures: Record<string, number> = {};
  const pg = await PrivatePostgres.create();
  cleanups.push(() => pg.destroy());
  const logDir = mkdtempSync('/tmp/tern-chaos-logs-');
  try {
    let redis = await PrivateRedis.start();
    const redisPort = redis.port;
    cleanups.push(() => redis.stop());
    await ensureDatabase(pg.url);
    await migrate(pg.url);
    const pgProxy = await TcpProxy.start({ host: '127.0.0.1', port: pg.port });
    const redisProxy = await TcpProxy.start({ host: '127.0.0.1', port: redisPort });
    cleanups.push(
      () => pgProxy.close(),
      () => redisProxy.close(),
    );
    const receiver = await ChaosReceiver.start(o.seed, ATTEMPT_TIMEOUT_MS + 1000);
    cleanups.push(() => receiver.close());

    const apiPort = await freePort();
    const api = new Supervised(
      'api',
      builtMain('api'),
      { ...CHAOS_ENV, DATABASE_URL: pg.url, REDIS_URL: redis.url, PORT: String(apiPort) },
      join(logDir, 'api.log'),
      1000,
    );
    const workerEnv = {
      ...CHAOS_ENV,
      DATABASE_URL: pgProxy.rewrite(pg.url),
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
    };
    const workers = [1, 2].map(
      (n) =>
        new Supervised(`worker-${n}`, builtMain('worker'), workerEnv, join(logDir, `worker-${n}.log`), 2000),
    );
    const procs = [api, ...workers];
    cleanups.push(() => procs.forEach((p) => p.retire()));
    procs.forEach((p) => p.start());
    const base = `http://127.0.0.1:${apiPort}`;
    await waitFor('the API', async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, 30_000, 200);

    const admin = { authorization: `Bearer ${CHAOS_ENV.ADMIN_API_KEY}`, 'content-type': 'application/json' };
    const appRes = await fetch(`${base}/v1/applications`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'chaos' }),
    });
    const app = (await appRes.json()) as { id: string; apiKey: { key: string } };
    const auth = { authorization: `Bearer ${app.apiKey.key}`, 'content-type': 'application/json' };
    const endpointPath = new Map<string, string>();
    for (let n = 0; n < o.endpoints; n++) {
      const r = await fetch(`${base}/v1/endpoints`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ url: receiver.url(n) }),
      });
      const ep = (await r.json()) as { id: string };
      endpointPath.set(ep.id, `/ep/${n}`);
    }

    // ---- load: batches with idempotency keys, re-sent on 5xx or a broken connection ----------------------
    const loadStart = Date.now();
    const accepted = new Set<string>();
    let resent = 0;
    let unavailable = 0;
    const batches = Math.ceil(o.events / o.batchSize);
    const send = async () => {
      for (let b = 0; b < batches; b++) {
        const events = [];
        for (let j = b * o.batchSize; j < Math.min(o.events, (b + 1) * o.batchSize); j++) {
          events.push({ eventType: 'chaos.tick', idempotencyKey: `chaos-${j}`, payload: { n: j, batch: b } });
        }
        const body = JSON.stringify({ events });
        for (let tries = 0; ; tries++) {
          if (tries > 0) resent++;
          try {
            const r = await fetch(`${base}/v1/events/batch`, { method: 'POST', headers: auth, body });
            if (r.ok) {
              const res = (await r.json()) as { data: { id: string }[] };
              res.data.forEach((e) => accepted.add(e.id));
              break;
            }
            if (r.status < 500) throw new Error(`batch ${b}: ${r.status} ${await r.text()}`);
            if (r.status === 503) unavailable++;
            await r.body?.cancel();
            await sleep(Math.min(2000, Number(r.headers.get('retry-after') ?? '1') * 1000));
          } catch (err) {
            if ((err as Error).message.startsWith(`batch ${b}:`)) throw err;
            await sleep(500);
          }
          if (Date.now() - started > o.loadMs + o.settleTimeoutMs)
            throw new Error(`batch ${b}: never accepted`);
        }
        await sleep(o.loadMs / batches);
      }
    };

    // ---- faults, in turn -------------------------------------------------------------------------------
    const faultLog: string[] = [];
    const fault = async (name: string, f: () => Promise<void>) => {
      await sleep(o.faultGapMs);
      faultLog.push(`+${((Date.now() - loadStart) / 1000).toFixed(1)}s ${name}`);
      o.log(`fault: ${name}`);
      await f();
    };
    const inject = async () => {
      await fault('SIGKILL worker-1 (restarted after 2 s)', () => workers[0].kill('SIGKILL'));
      await fault('Redis killed, restarted empty on the same port', async () => {
        await redis.stop();
        await sleep(1000);
        redis = await PrivateRedis.start(redisPort);
      });
      await fault('PostgreSQL stopped (-m fast), started after 3 s', async () => {
        await pg.stop('fast');
        await sleep(3000);
        await pg.start();
      });
      await fault('SIGTERM worker-2 (graceful), restarted', () => workers[1].kill('SIGTERM'));
      await fault('network stall worker<->PostgreSQL and worker<->Redis for 4 s', async () => {
        pgProxy.stall();
        redisProxy.stall();
        await sleep(4000);
        pgProxy.resume();
        redisProxy.resume();
      });
    };
    await Promise.all([send(), inject()]);
    const lastFaultEnd = Date.now();

    // ---- settle ------------------------------------------------------------------------------------------
    const expected = accepted.size * o.endpoints;
    let settled = true;
    try {
      await waitFor(
        'every delivery to finish',
        async () => {
          const [c] = await sql<{ total: number; open: number }>(
            pg.url,
            `SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 'pending')::int AS open FROM deliveries`,
          );
          return c.total === expected && c.open === 0;
        },
        o.settleTimeoutMs,
        200,
      );
    } catch {
      settled = false;
    }
    const done = Date.now();

    // ---- checks ------------------------------------------------------------------------------------------
    const checks: ChaosCheck[] = [];
    const check = (name: string, passed: boolean, detail: string) => checks.push({ name, passed, detail });
    const [ev] = await sql<{ n: number; keys: number }>(
      pg.url,
      `SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS keys FROM events`,
    );
    const storedIds = new Set((await sql<{ id: string }>(pg.url, `SELECT id FROM events`)).map((r) => r.id));
    const missing = [...accepted].filter((id) => !storedIds.has(id)).length;
    check(
      'accepted -> stored',
      ev.n === o.events && ev.keys === o.events && accepted.size === o.events && missing === 0,
      `${o.events} sent, ${accepted.size} distinct ids accepted, ${ev.n} events stored, ${missing} accepted but missing, ${resent} batch re-sends`,
    );
    const deliveries = await sql<{
      id: string;
      event_id: string;
      endpoint_id: string;
      status: string;
      attempts: number;
      successes: number;
    }>(
      pg.url,
      `SELECT d.id, d.event_id, d.endpoint_id, d.status::text AS status,
              (SELECT count(*) FROM attempts a WHERE a.delivery_id = d.id)::int AS attempts,
              (SELECT count(*) FROM attempts a WHERE a.delivery_id = d.id AND a.outcome = 'succeeded')::int AS successes
       FROM deliveries d`,
    );
    const byStatus: Record<string, number> = {};
    let receivedOk = 0;
    let duplicates = 0;
    let unlogged = 0;
    let doubleSuccess = 0;
    const duplicated: string[] = [];
    for (const d of deliveries) {
      byStatus[d.status] = (byStatus[d.status] ?? 0) + 1;
      const seen = receiver.pairs.get(
        ChaosReceiver.pairKey(d.event_id, endpointPath.get(d.endpoint_id) ?? '?'),
      );
      if (seen && seen.successes >= 1) receivedOk++;
      if (seen && seen.successes > 1) {
        duplicates++;
        duplicated.push(d.id);
      }
      if ((seen?.requests ?? 0) > d.attempts) unlogged++;
      if (d.successes > 1) doubleSuccess++;
    }
    const succeeded = byStatus.succeeded ?? 0;
    check(
      'stored -> delivered',
      settled && deliveries.length === expected && succeeded === expected && receivedOk === expected,
      `${expected} pairs, ${deliveries.length} deliveries: ${JSON.stringify(byStatus)}; ${receivedOk} pairs got a 2xx at the receiver${settled ? '' : '; NOT SETTLED in time'}`,
    );
    const histories = (where: string, params: unknown[] = []) =>
      sql<{ delivery_id: string; attempts: string }>(
        pg.url,
        `SELECT delivery_id, string_agg(number || ':' || outcome || '@' || to_char(started_at, 'MI:SS.MS')
                                        || coalesce('/' || response_status, '') || coalesce('/' || error_class, ''),
                                        ' ' ORDER BY started_at) AS attempts
         FROM attempts WHERE ${where} GROUP BY 1 LIMIT 5`,
        params,
      );
    const twice = await histories(
      `delivery_id IN (SELECT delivery_id FROM attempts WHERE outcome = 'succeeded' GROUP BY 1 HAVING count(*) > 1)`,
    );
    const duplicatedHistories = await histories('delivery_id = ANY($1::text[])', [duplicated.slice(0, 5)]);
    // A duplicate is explained when the receiver's 2xx never reached the record: the worker died (interrupted) or
    // the answer was lost on the way (timeout, reset). Any other duplicate is a defect.
    const [unexplained] = await sql<{ n: number }>(
      pg.url,
      `SELECT count(*)::int AS n FROM unnest($1::text[]) AS x(id)
       WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.delivery_id = x.id
                           AND a.outcome <> 'succeeded' AND a.response_status IS NULL)`,
      [duplicated],
    );
    check(
      'every duplicate follows a lost answer',
      unexplained.n === 0,
      `${unexplained.n} of ${duplicates} duplicated pairs have no interrupted, timed-out or reset attempt`,
    );
    const share = expected ? duplicates / expected : 0;
    check(
      'duplicates',
      share <= o.maxDuplicateShare,
      `${duplicates} pairs got more than one 2xx (${(share * 100).toFixed(3)} %, allowed ${(o.maxDuplicateShare * 100).toFixed(1)} %)` +
        duplicatedHistories.map((t) => `; ${t.delivery_id}: ${t.attempts}`).join(''),
    );
    check(
      'one success per delivery',
      doubleSuccess === 0,
      `${doubleSuccess} deliveries with two succeeded attempts` +
        twice.map((t) => `; ${t.delivery_id}: ${t.attempts}`).join(''),
    );
    const requestsSeen = [...receiver.pairs.values()].reduce((s, p) => s + p.requests, 0);
    const attemptRows = deliveries.reduce((s, d) => s + d.attempts, 0);
    check(
      'every request seen has an attempt row',
      unlogged === 0,
      `${requestsSeen} requests at the receiver, ${attemptRows} attempt rows; ${unlogged} pairs with more requests than rows`,
    );
    const unexpected = procs.reduce((s, p) => s + p.unexpectedExits, 0);
    const unclean = procs.reduce((s, p) => s + p.uncleanStops, 0);
    check(
      'only injected faults ended a process, SIGTERM ends cleanly',
      unexpected === 0 && unclean === 0,
      `${unexpected} unexpected exits, ${unclean} SIGTERM stops with a non-zero code`,
    );
    const [last] = await sql<{ at: Date | null }>(pg.url, `SELECT max(completed_at) AS at FROM deliveries`);
    const [interrupted] = await sql<{ n: number }>(
      pg.url,
      `SELECT count(*)::int AS n FROM attempts WHERE outcome = 'interrupted'`,
    );
    Object.assign(figures, {
      events: o.events,
      pairs: expected,
      attempts: attemptRows,
      interrupted: interrupted.n,
      duplicates,
      batchResends: resent,
      apiUnavailable503: unavailable,
      recoverySeconds: last.at ? Math.max(0, (last.at.getTime() - lastFaultEnd) / 1000) : -1,
      settleSeconds: (done - lastFaultEnd) / 1000,
      totalSeconds: (Date.now() - started) / 1000,
    });
    o.log(`faults: ${faultLog.join('; ')}`);
    return { checks, figures, logDir };
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        /* best effort */
      }
    }
  }
}

/** The report as lines, the last one `N passed, M failed`. */
export function formatReport(r: ChaosReport): string[] {
  const lines = r.checks.map((c) => `${c.passed ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
  lines.push(
    `figures: ${Object.entries(r.figures)
      .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`)
      .join(' ')}`,
  );
  const passed = r.checks.filter((c) => c.passed).length;
  lines.push(`${passed} passed, ${r.checks.length - passed} failed`);
  return lines;
}
