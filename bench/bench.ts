/**
 * `npm run bench`: the delivery benchmark (method, phases, targets: docs/performance.md).
 *
 * Starts, on a scratch database (tern_bench_<random>, dropped at the end) and a private Redis (a redis-server child
 * on a free port; or BENCH_REDIS_URL with a unique key prefix), the real processes from dist/ — one API and the
 * worker(s) — plus a sink process (a 204 receiver and a black hole), and measures in one run:
 *   ingest     POST /v1/events and /v1/events/batch (100 per request) with autocannon (bench/ingest.bench.ts, run
 *              as a child process), no worker running, one endpoint subscribed to the type
 *   filter     the cost of payload filters at ingest: the ingest runs (autocannon, as above) for an application with
 *              BENCH_FILTER_ENDPOINTS endpoints whose filters have 10 clauses each (all matching: both write the
 *              same deliveries) and for one with as many endpoints without filters, in the order none, filtered,
 *              filtered, none (so drift of the machine cancels out): ratio = filtered events/s ÷ unfiltered.
 *              Target ≥ 0.9
 *   e2e        BENCH_E2E_EVENTS events pre-loaded via batch while no worker runs; then the worker starts and
 *              drains them: rate = deliveries / (last sink arrival − first sink arrival). Target ≥ 0.45 × raw.
 *              WAL per delivery, the cluster's and (with pg_walinspect) the scratch database's own, per relation
 *   fanout     BENCH_FANOUT_ENDPOINTS endpoints of one application on the sink, BENCH_FANOUT_EVENTS events sent in
 *              batches of BENCH_FANOUT_BATCH while the worker runs: rate = deliveries / (first request → last
 *              arrival). Target ≥ 0.35 × raw (rate only when raw is not run)
 *   raw        signed POSTs to the same sink with WebhookSender + signatureHeader from a child process,
 *              BENCH_RAW_CONNECTIONS keep-alive connections, as fast as it goes (no worker running): the ceiling
 *   scaleout   the e2e measurement (BENCH_SCALEOUT_EVENTS) with 1 worker process, then BENCH_SCALEOUT_WORKERS
 *              (like `WORKER_PROCESSES=2 npm start`). Target: ratio ≥ 1.0, and no delivery with two succeeded
 *              attempts
 *   ordered    the e2e measurement (BENCH_ORDERED_EVENTS, one worker) on an unordered endpoint, then on an
 *              endpoint with ordering partitioned whose events carry BENCH_ORDERED_KEYS partition keys (round
 *              robin); the unordered one also at maxInFlight BENCH_ORDERED_KEYS (what the keys allow the
 *              ordered one at most). Target: ordered ≥ 0.8 × unordered at that same cap
 *   lag        open-loop single POST /v1/events at BENCH_RATE/s for BENCH_SECONDS (after a short warm-up);
 *              lag = sink arrival − the time the sender sent the request (also reported against createdAt).
 *              Target p99 ≤ 250 ms
 *   latency    the same at half the e2e rate of this run (BENCH_LATENCY_RATE when e2e is not run) for
 *              BENCH_LATENCY_SECONDS. Target p99 ≤ 250 ms
 *   fairness   application A gets a BENCH_FAIRNESS_BACKLOG-delivery backlog (batch API, worker running); meanwhile
 *              application B sends BENCH_FAIRNESS_RATE events/s for BENCH_FAIRNESS_SECONDS to its own endpoint,
 *              and A's backlog is topped up to BENCH_FAIRNESS_BACKLOG whenever it falls below by a batch
 *              (BENCH_FAIRNESS_TOPUP=0: loaded once only). Target: B's p99 ≤ 500 ms
 *   blackhole  two healthy endpoints receive BENCH_BLACKHOLE_RATE events/s together for BENCH_BLACKHOLE_SECONDS,
 *              first alone, then with BENCH_BLACKHOLE_BACKLOG pending deliveries to an endpoint that accepts
 *              connections and never answers (maxInFlight BENCH_BLACKHOLE_MAX_IN_FLIGHT). Targets: healthy p99 ≤
 *              250 ms, open requests at the black hole ≤ its maxInFlight, Redis commands/s within ±10 % of the run
 *              without it
 * Whatever BENCH_PHASES lists, the phases run in this order. The worker runs with WORKER_GROUPS.e2e for e2e,
 * fanout, scaleout and ordered and with WORKER_GROUPS.lag for lag, latency, fairness and blackhole. Prints a table and
 * PASS/FAIL per target, writes artifacts/bench-<timestamp>.json. Everything is cleaned up (children, database,
 * Redis) also on failure; the run stops itself after BENCH_DEADLINE_SECONDS.
 *
 * Settings (environment; defaults shown):
 *   BENCH_PHASES=ingest,filter,e2e,fanout,raw,scaleout,ordered,lag,latency,fairness,blackhole (any subset)
 *   BENCH_DEADLINE_SECONDS=600  the whole run; what was measured by then is reported
 *   BENCH_SECONDS=10            ingest (each run), raw, lag
 *   BENCH_RATE=1000             lag's offered rate (and the warm-up's)
 *   BENCH_WARMUP_SECONDS=2      before the first open-loop phase (0: none)
 *   BENCH_E2E_EVENTS=20000
 *   BENCH_FILTER_ENDPOINTS=10  BENCH_FILTER_SECONDS=BENCH_SECONDS (each of the 4 runs, per ingest mode)
 *   BENCH_FANOUT_EVENTS=2000  BENCH_FANOUT_ENDPOINTS=10  BENCH_FANOUT_BATCH=100
 *   BENCH_SCALEOUT_EVENTS=BENCH_E2E_EVENTS  BENCH_SCALEOUT_WORKERS=2
 *   BENCH_ORDERED_EVENTS=BENCH_E2E_EVENTS  BENCH_ORDERED_KEYS=100
 *   BENCH_LATENCY_RATE=1000 (only when e2e is not run)  BENCH_LATENCY_SECONDS=15
 *   BENCH_FAIRNESS_BACKLOG=50000  BENCH_FAIRNESS_RATE=20  BENCH_FAIRNESS_SECONDS=15
 *   BENCH_BLACKHOLE_BACKLOG=10000  BENCH_BLACKHOLE_RATE=500  BENCH_BLACKHOLE_SECONDS=15
 *   BENCH_BLACKHOLE_MAX_IN_FLIGHT=50
 *   BENCH_PRELOAD_BATCH=500 (events per batch request for backlogs; ≤ the API's MAX_BATCH_SIZE)
 *   BENCH_PRELOAD_LANES=4 (concurrent batch requests)
 *   BENCH_RAW_CONNECTIONS=64  BENCH_OPEN_LOOP_CONNECTIONS=64  BENCH_OPEN_LOOP_MAX_IN_FLIGHT=2000
 *   BENCH_DRAIN_WAIT_SECONDS=20 (after an open loop's last send; later deliveries count as never)
 *   BENCH_BACKLOG_DRAIN_SECONDS=90 (longest wait for a backlog: e2e, fanout, scaleout)
 *   BENCH_FIRST_ARRIVAL_SECONDS=20 (no delivery by then after a worker start: stop with its first error)
 *   BENCH_STARTUP_SECONDS=60 (API, worker, Redis start-up)  BENCH_QUIET_WAIT_SECONDS=10 (per phase)
 *   BENCH_INGEST_PHASES=single,batch (the ingest runs; "single" alone makes API CPU per event = per request)
 *   BENCH_CPU_PROF=worker[,api]   V8 CPU profiles + summaries (bench/cpu-profile-summary.ts) in artifacts/prof-*
 *   BENCH_WORKERS=1 (worker processes outside scaleout)  BENCH_WORKER_NODE_ARGS="--max-semi-space-size=64"
 *   BENCH_VERBOSE=1 (echo children's output)
 *   BENCH_PG_URL (admin connection, default postgresql://postgres@127.0.0.1:5432/postgres)
 *   BENCH_REDIS_URL (use this Redis, keys under a unique prefix, instead of a private redis-server;
 *   total_commands_processed then counts other clients too)  BENCH_REDIS_SERVER=redis-server (the binary)
 *   Knobs passed through to API and worker when set: WORKER_CONCURRENCY, ENDPOINT_MAX_IN_FLIGHT, DISPATCH_BATCH_SIZE,
 *   DATABASE_POOL_SIZE, DELIVERY_ATTEMPT_TIMEOUT_MS, …; BENCH_E2E_WORKER_ENV / BENCH_LAG_WORKER_ENV="K=V,K=V"
 *   override one group of phases.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import type { OpenLoopResult, OpenLoopRun } from './bench-open-loop';
import { Child, findExecutable, startNode, startProcess } from './bench-procs';
import { summarizeProfile } from './cpu-profile-summary';
import type { RawResult, RawRun } from './bench-raw-sender';
import type { BlackholeStats, SinkStats } from './bench-sink';
import {
  cpuBetween,
  cpuMsOf,
  CpuSnapshot,
  CpuTracker,
  positiveInt,
  postgresBackgroundPids,
  rpc,
  sleep,
  summarize,
  Summary,
  wallNow,
} from './bench-util';
import { freePort } from '../test/support/free-port';
import { waitFor } from '../test/support/scratch-db';

const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const SECONDS = positiveInt('BENCH_SECONDS', 10);
/** Which ingest runs the ingest phase makes (single: one event per request; batch: 100). */
const INGEST_PHASES = (process.env.BENCH_INGEST_PHASES ?? 'single,batch').split(',').map((s) => s.trim());
const E2E_EVENTS = positiveInt('BENCH_E2E_EVENTS', 20_000);
const FILTER_ENDPOINTS = positiveInt('BENCH_FILTER_ENDPOINTS', 10);
const FILTER_SECONDS = positiveInt('BENCH_FILTER_SECONDS', SECONDS);
const RATE = positiveInt('BENCH_RATE', 1000);
const WARMUP_SECONDS = process.env.BENCH_WARMUP_SECONDS === '0' ? 0 : positiveInt('BENCH_WARMUP_SECONDS', 2);
const DEADLINE_S = positiveInt('BENCH_DEADLINE_SECONDS', 600);
const FANOUT_EVENTS = positiveInt('BENCH_FANOUT_EVENTS', 2000);
const FANOUT_ENDPOINTS = positiveInt('BENCH_FANOUT_ENDPOINTS', 10);
const FANOUT_BATCH = positiveInt('BENCH_FANOUT_BATCH', 100);
const SCALEOUT_EVENTS = positiveInt('BENCH_SCALEOUT_EVENTS', E2E_EVENTS);
const SCALEOUT_WORKERS = positiveInt('BENCH_SCALEOUT_WORKERS', 2);
const ORDERED_EVENTS = positiveInt('BENCH_ORDERED_EVENTS', E2E_EVENTS);
const ORDERED_KEYS = positiveInt('BENCH_ORDERED_KEYS', 100);
const LATENCY_RATE = positiveInt('BENCH_LATENCY_RATE', 1000);
const LATENCY_SECONDS = positiveInt('BENCH_LATENCY_SECONDS', 15);
const FAIRNESS_BACKLOG = positiveInt('BENCH_FAIRNESS_BACKLOG', 50_000);
const FAIRNESS_RATE = positiveInt('BENCH_FAIRNESS_RATE', 20);
const FAIRNESS_SECONDS = positiveInt('BENCH_FAIRNESS_SECONDS', 15);
/**
 * Keep A's backlog at BENCH_FAIRNESS_BACKLOG while B sends (1, the default) or load it once (0). Topped up, A is a
 * flood that goes on — what fairness must withstand — and the premise holds however fast the worker drains it (a
 * backlog loaded once ran out within B's 15 s on a quiet machine: 42,445 → 0 at 2,808 deliveries/s).
 */
const FAIRNESS_TOPUP = (process.env.BENCH_FAIRNESS_TOPUP ?? '1') !== '0';
/** How often the top-up looks at A's pending count. */
const FAIRNESS_TOPUP_POLL_MS = 200;
const BLACKHOLE_BACKLOG = positiveInt('BENCH_BLACKHOLE_BACKLOG', 10_000);
const BLACKHOLE_RATE = positiveInt('BENCH_BLACKHOLE_RATE', 500);
const BLACKHOLE_SECONDS = positiveInt('BENCH_BLACKHOLE_SECONDS', 15);
const BLACKHOLE_MAX_IN_FLIGHT = positiveInt('BENCH_BLACKHOLE_MAX_IN_FLIGHT', 50);
/** Events per /v1/events/batch request when a backlog is loaded (the API refuses more than MAX_BATCH_SIZE). */
const PRELOAD_BATCH = positiveInt('BENCH_PRELOAD_BATCH', 500);
/** Batch requests in flight at once when a backlog (or the fan-out) is loaded. */
const PRELOAD_LANES = positiveInt('BENCH_PRELOAD_LANES', 4);
const RAW_CONNECTIONS = positiveInt('BENCH_RAW_CONNECTIONS', 64);
const OPEN_LOOP_CONNECTIONS = positiveInt('BENCH_OPEN_LOOP_CONNECTIONS', 64);
/** Requests the open-loop sender keeps outstanding at most; a send beyond it is skipped (rate not sustained). */
const OPEN_LOOP_MAX_IN_FLIGHT = positiveInt('BENCH_OPEN_LOOP_MAX_IN_FLIGHT', 2000);
/** After an open loop's last send: how long its deliveries may take before the rest count as never arrived. */
const DRAIN_WAIT_S = positiveInt('BENCH_DRAIN_WAIT_SECONDS', 20);
/** Longest wait for a backlog (e2e, fanout, scaleout) to be delivered. */
const BACKLOG_DRAIN_S = positiveInt('BENCH_BACKLOG_DRAIN_SECONDS', 90);
/** A worker that delivered nothing this long after it started is broken: stop and show its first error. */
const FIRST_ARRIVAL_S = positiveInt('BENCH_FIRST_ARRIVAL_SECONDS', 20);
const STARTUP_S = positiveInt('BENCH_STARTUP_SECONDS', 60);
const PAYLOAD_BYTES = 256;
const PHASE_NAMES = [
  'ingest',
  'filter',
  'e2e',
  'fanout',
  'raw',
  'scaleout',
  'ordered',
  'lag',
  'latency',
  'fairness',
  'blackhole',
] as const;
const PHASES = new Set((process.env.BENCH_PHASES ?? PHASE_NAMES.join(',')).split(',').map((s) => s.trim()));
for (const p of PHASES) {
  if (!(PHASE_NAMES as readonly string[]).includes(p))
    throw new Error(`BENCH_PHASES: unknown phase "${p}" (known: ${PHASE_NAMES.join(', ')})`);
}
const PROFILE = new Set((process.env.BENCH_CPU_PROF ?? '').split(',').filter(Boolean));
const profiled = (which: string) => PROFILE.has(which) || PROFILE.has(which.split('-')[0]);
const VERBOSE = process.env.BENCH_VERBOSE === '1';
const WORKERS = positiveInt('BENCH_WORKERS', 1);
const WORKER_NODE_ARGS = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
/** An external Redis to use instead of a private one (shared: its command counter includes other clients). */
const EXTERNAL_REDIS_URL = process.env.BENCH_REDIS_URL || null;
const REDIS_SERVER = process.env.BENCH_REDIS_SERVER || 'redis-server';
/** Used when no redis-server binary is found and BENCH_REDIS_URL is not set. */
const FALLBACK_REDIS_URL = 'redis://127.0.0.1:6379';
/** Cores used by processes outside the bench above which a phase is flagged as disturbed. */
const OTHER_LOAD_WARN = 0.15;
/** Longest wait for a quiet machine before each measured phase. */
const QUIET_WAIT_SECONDS = positiveInt('BENCH_QUIET_WAIT_SECONDS', 10);

/** The targets of issue #11 (docs/performance.md, "Phases and targets"). */
const TARGET = {
  e2eToRaw: 0.45,
  fanoutToRaw: 0.35,
  lagP99Ms: 250,
  latencyP99Ms: 250,
  fairnessP99Ms: 500,
  blackholeHealthyP99Ms: 250,
  /** Redis commands/s with the black hole within ± this fraction of the same traffic without it. */
  blackholeRedisTolerance: 0.1,
  scaleoutRatio: 1.0,
  /** Ingest events/s with 10-clause filters on the endpoints ÷ without (issue #12 part 3). */
  filterIngestRatio: 0.9,
  /** Ordered endpoint (BENCH_ORDERED_KEYS keys) / unordered one, deliveries per second. */
  orderedRatio: 0.8,
};

/**
 * The filter phase's 10-clause filter: every clause holds for what bench/ingest.bench.ts sends (type
 * bench.ingest, payload {seq, at, nonce, order: {id, filler}}), so each clause is evaluated for every event and
 * the filtered application writes as many deliveries as the other.
 */
const TEN_CLAUSE_FILTER = {
  type: { $in: ['bench.ingest', 'bench.other'] },
  'data.seq': { $gte: 1 },
  'data.at': { $gt: 0 },
  'data.nonce': { $exists: true },
  'data.order.id': { $startsWith: 'o_' },
  'data.order.filler': { $exists: true },
  'data.missing': { $exists: false },
  $or: [{ 'data.seq': { $lt: 0 } }, { 'data.at': { $gte: 0 } }],
  $not: { 'data.order.id': 'nope' },
  'data.order': { id: { $neq: '' } },
};
/** An open loop "sustained" its rate if it skipped no send and got at least this share of it accepted. */
const SUSTAINED_SHARE = 0.95;

/**
 * Worker settings per group of phases. Any PASS_THROUGH variable set in the environment overrides both, and
 * BENCH_E2E_WORKER_ENV / BENCH_LAG_WORKER_ENV ("K=V,K=V") override one group.
 */
const WORKER_GROUPS: Record<WorkerGroup, Record<string, string>> = {
  // Throughput (e2e, fanout, scaleout). One hot endpoint: its cap (ENDPOINT_MAX_IN_FLIGHT, across all workers)
  // bounds what is in flight; 200 jobs of up to DELIVERY_JOB_MAX_DELIVERIES each never limit it.
  e2e: { WORKER_CONCURRENCY: '200', ENDPOINT_MAX_IN_FLIGHT: '200' },
  // Latency (lag, latency, fairness, blackhole): the shipped defaults. A black-holed endpoint holds its own cap
  // and nothing else (the dispatcher releases it no more), so the healthy ones keep flowing.
  lag: { WORKER_CONCURRENCY: '400', ENDPOINT_MAX_IN_FLIGHT: '200' },
};
type WorkerGroup = 'e2e' | 'lag';
/** Set on both processes unless given in the environment. */
const COMMON_DEFAULTS: Record<string, string> = { SHUTDOWN_GRACE_MS: '3000' };
const PASS_THROUGH = [
  'WORKER_CONCURRENCY',
  'ENDPOINT_MAX_IN_FLIGHT',
  'DISPATCH_BATCH_SIZE',
  'DISPATCH_ENDPOINTS_PER_CYCLE',
  'DELIVERY_JOB_MAX_DELIVERIES',
  'DISPATCH_INTERVAL_MS',
  'DATABASE_POOL_SIZE',
  'DELIVERY_ATTEMPT_TIMEOUT_MS',
  'DELIVERY_CONNECT_TIMEOUT_MS',
  'JOB_LOCK_DURATION_MS',
  'JOB_STALLED_INTERVAL_MS',
  'RECONCILER_INTERVAL_MS',
  'ENDPOINT_CACHE_TTL_MS',
  'CIRCUIT_FAILURE_THRESHOLD',
  'SHUTDOWN_GRACE_MS',
  'API_KEY_CACHE_TTL_MS',
];

const EVENT_TYPES = {
  ingest: 'bench.ingest', // the type bench/ingest.bench.ts sends
  e2e: 'bench.e2e',
  fanout: 'bench.fanout',
  scaleout: (workers: number) => `bench.scaleout.w${workers}`,
  ordered: (variant: string) => `bench.ordered.${variant}`,
  lag: 'bench.lag',
  latency: 'bench.latency',
  fairnessA: 'bench.fairness.a',
  fairnessB: 'bench.fairness.b',
  healthy: (variant: string, n: number) => `bench.blackhole.${variant}.${n}`,
  hole: 'bench.blackhole.hole',
  warmup: 'bench.warmup',
};

interface Target {
  name: string;
  /** The phases it is measured in. */
  phases: string[];
  target: string;
  measured: string;
  /** null: not judged (machine busy, or the phase's premise did not hold). */
  pass: boolean | null;
  /** The verdict the figures alone give when `pass` is null because the machine was busy. */
  passIfQuiet?: boolean;
  /** A correctness check (not a timing): judged whatever the machine's load. */
  loadIndependent?: boolean;
}

interface Report {
  startedAt: string;
  finishedAt?: string;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  phases: Record<string, any>;
  targets: Target[];
  errors: string[];
  profiles?: Record<string, string[]>;
  postgresTables?: Record<string, unknown>;
  /** Per child process: lines that looked like errors, and the first one. */
  processErrors?: Record<string, { lines: number; first: string | null }>;
}

/** One open-loop measurement (lag, latency, fairness, each blackhole variant). */
interface OpenLoopSpec {
  name: string;
  key: string;
  eventTypes: string[];
  /** The sink labels of the endpoints the events go to (one delivery per event to one of them). */
  labels: string[];
  rate: number;
  seconds: number;
  /** false: take the CPU snapshot at once (the caller waited for a quiet machine before its own set-up). */
  quietWait?: boolean;
  /** Just before the first send, and just after the last one (before waiting for the deliveries). */
  beforeSend?: () => Promise<void>;
  afterSend?: () => Promise<void>;
}

// ---- small helpers --------------------------------------------------------------------------------------------

function log(msg: string): void {
  const t = ((wallNow() - startedAt) / 1000).toFixed(1).padStart(6);
  console.log(`${t}s  ${msg}`);
}
const startedAt = wallNow();

async function http(base: string, method: string, path: string, key: string, body?: unknown): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function withPg<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** waitFor (test/support) that gives up with a log line instead of throwing: a bench reports what it got. */
async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<boolean> {
  try {
    await waitFor(what, check, timeoutMs);
    return true;
  } catch (err) {
    // A check that throws (a process died) is not a timeout: let it through.
    if (!(err instanceof Error) || !err.message.startsWith('timed out after')) throw err;
    log(`gave up waiting for ${what} after ${Math.round(timeoutMs / 1000)} s`);
    return false;
  }
}

function payload(seq: number, filler: string): Record<string, unknown> {
  return { seq, sentAt: Date.now(), order: { id: `o_${seq}`, filler } };
}

function fmt(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined) return 'n/a';
  if (!Number.isFinite(v)) return '∞';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The open loop skipped no send and got its rate accepted. */
function sustained(x: { sender: { skipped: number; achievedRate: number } }, rate: number): boolean {
  return x.sender.skipped === 0 && x.sender.achievedRate >= SUSTAINED_SHARE * rate;
}

/** Most cores processes outside the bench used during a phase (or any of its variants). */
function otherCores(phase: any): number {
  const own = [phase?.cpuCores?.other ?? 0];
  for (const v of Object.values(phase?.variants ?? {})) own.push((v as any)?.cpuCores?.other ?? 0);
  return Math.max(...own);
}

// ---- the run --------------------------------------------------------------------------------------------------

class Bench {
  readonly tag = randomBytes(4).toString('hex');
  readonly dbName = `tern_bench_${this.tag}`;
  readonly prefix = `ternbench_${this.tag}`;
  readonly adminKey = randomBytes(24).toString('hex');
  readonly stamp = new Date().toISOString().replace(/[:.]/g, '-');
  readonly report: Report;
  readonly cpu = new CpuTracker();
  dbUrl = '';
  apiBase = '';
  appKey = '';
  redisUrl = '';
  /** 'private' (our own redis-server), 'external' (BENCH_REDIS_URL) or 'shared' (no redis-server found). */
  redisMode: 'private' | 'external' | 'shared' = 'private';
  redisServer: Child | null = null;
  /** The bench's own connection, for INFO. */
  redis: Redis | null = null;
  sink: Child | null = null;
  sinkPort = 0;
  blackholePort = 0;
  api: Child | null = null;
  workers: Child[] = [];
  workerGroup: WorkerGroup | null = null;
  workerMetricsPort = 0;
  loadgens: Child[] = [];
  /** Endpoint id per sink label (and per application key, to delete it). */
  endpoints: Record<string, string> = {};
  dbCreated = false;
  private warmedUp = WARMUP_SECONDS === 0;
  private cleaned: Promise<void> | null = null;
  /** The connection holding walHold's replication slot, while a phase holds one. */
  private walHolder: Client | null = null;
  private ourBackends = new Set<number>();

  constructor() {
    this.report = {
      startedAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        node: process.version,
        loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
      },
      settings: {},
      phases: {},
      targets: [],
      errors: [],
    };
  }

  private base: Record<string, string> | null = null;
  /** API and worker environment; one encryption key for both (the worker decrypts what the API stored). */
  private env(group?: WorkerGroup): Record<string, string> {
    this.base ??= {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ADMIN_API_KEY: this.adminKey,
      SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      DATABASE_URL: this.dbUrl,
      REDIS_URL: this.redisUrl,
      QUEUE_PREFIX: this.prefix,
      SSRF_ALLOW_CIDRS: '127.0.0.0/8',
    };
    const env = { ...this.base, ...COMMON_DEFAULTS, ...(group ? WORKER_GROUPS[group] : {}) };
    for (const k of PASS_THROUGH) if (process.env[k]) env[k] = process.env[k];
    const specific = group ? process.env[`BENCH_${group.toUpperCase()}_WORKER_ENV`] : undefined;
    for (const pair of (specific ?? '').split(',').filter(Boolean)) {
      const [k, v] = pair.split('=');
      env[k.trim()] = (v ?? '').trim();
    }
    return env;
  }

  private static knobsOf(env: Record<string, string>): Record<string, string> {
    return Object.fromEntries(
      Object.entries(env).filter(([k]) => [...PASS_THROUGH, 'LOG_LEVEL'].includes(k)),
    );
  }

  private profileArgs(which: string): string[] {
    if (!profiled(which)) return [];
    const dir = join(ROOT, 'artifacts', `prof-${this.stamp}`);
    mkdirSync(dir, { recursive: true });
    return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${which}.cpuprofile`];
  }

  /**
   * A private redis-server (no persistence, like the local one) so that `total_commands_processed` counts the
   * bench's commands only; BENCH_REDIS_URL uses that server instead.
   */
  private async startRedis(): Promise<void> {
    if (EXTERNAL_REDIS_URL) {
      this.redisMode = 'external';
      this.redisUrl = EXTERNAL_REDIS_URL;
      return;
    }
    const bin = findExecutable(REDIS_SERVER);
    if (!bin) {
      this.redisMode = 'shared';
      this.redisUrl = FALLBACK_REDIS_URL;
      log(`no ${REDIS_SERVER} found: using ${FALLBACK_REDIS_URL} (its command counts include other clients)`);
      return;
    }
    const port = await freePort();
    this.redisServer = startProcess(
      'redis',
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()],
      { echo: VERBOSE },
    );
    await this.redisServer.waitForLine(/Ready to accept connections/, STARTUP_S * 1000);
    this.redisUrl = `redis://127.0.0.1:${port}`;
  }

  /** Redis's `total_commands_processed` (INFO stats): commands served since it started, by every client. */
  private async redisCommands(): Promise<number> {
    const info = await this.redis!.info('stats');
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
  }

  async run(): Promise<void> {
    await this.startRedis();
    this.redis = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await this.redis.connect();
    const info = await this.redis.info('server');
    const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0);
    this.cpu.track('redis', redisPid);
    this.cpu.start(250, () => {
      for (const pid of postgresBackgroundPids()) this.cpu.track('postgres-bg', pid);
    });

    // Sink process.
    this.sink = startNode('sink', join(__dirname, 'bench-sink.js'), {}, { ipc: true, echo: VERBOSE });
    await this.sink.waitReady(10_000);
    ({ port: this.sinkPort, blackholePort: this.blackholePort } = await rpc<{
      port: number;
      blackholePort: number;
    }>(this.sink.proc, { type: 'ports' }, 5000));
    this.cpu.track('sink', this.sink.pid);

    // Scratch database (the API migrates it on start).
    await withPg(PG_ADMIN_URL, (c) => c.query(`CREATE DATABASE "${this.dbName}"`));
    this.dbCreated = true;
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${this.dbName}`;
    this.dbUrl = url.toString();

    const apiPort = await freePort();
    this.workerMetricsPort = await freePort();
    this.apiBase = `http://127.0.0.1:${apiPort}`;
    this.report.settings = {
      phases: PHASE_NAMES.filter((p) => PHASES.has(p)),
      deadlineSeconds: DEADLINE_S,
      seconds: SECONDS,
      e2eEvents: E2E_EVENTS,
      rate: RATE,
      fanout: { events: FANOUT_EVENTS, endpoints: FANOUT_ENDPOINTS, batch: FANOUT_BATCH },
      scaleout: { events: SCALEOUT_EVENTS, workers: SCALEOUT_WORKERS },
      latency: { fallbackRate: LATENCY_RATE, seconds: LATENCY_SECONDS },
      fairness: { backlog: FAIRNESS_BACKLOG, rate: FAIRNESS_RATE, seconds: FAIRNESS_SECONDS },
      blackhole: {
        backlog: BLACKHOLE_BACKLOG,
        rate: BLACKHOLE_RATE,
        seconds: BLACKHOLE_SECONDS,
        maxInFlight: BLACKHOLE_MAX_IN_FLIGHT,
      },
      preload: { batch: PRELOAD_BATCH, lanes: PRELOAD_LANES },
      waits: {
        drainAfterSendSeconds: DRAIN_WAIT_S,
        backlogDrainSeconds: BACKLOG_DRAIN_S,
        firstArrivalSeconds: FIRST_ARRIVAL_S,
        quietWaitSeconds: QUIET_WAIT_SECONDS,
      },
      targets: TARGET,
      payloadBytes: PAYLOAD_BYTES,
      rawConnections: RAW_CONNECTIONS,
      openLoop: { connections: OPEN_LOOP_CONNECTIONS, maxInFlight: OPEN_LOOP_MAX_IN_FLIGHT },
      database: this.dbName,
      redis: { mode: this.redisMode, url: this.redisUrl },
      queuePrefix: this.prefix,
      workers: WORKERS,
      workerNodeArgs: WORKER_NODE_ARGS,
      apiEnv: Bench.knobsOf(this.env()),
      workerEnv: { e2e: Bench.knobsOf(this.env('e2e')), lag: Bench.knobsOf(this.env('lag')) },
    };
    log(
      `scratch database ${this.dbName}, Redis ${this.redisUrl} (${this.redisMode}, prefix ${this.prefix}), ` +
        `sink :${this.sinkPort}`,
    );

    this.api = startNode(
      'api',
      join(DIST, 'apps/api/src/main.js'),
      { ...this.env(), PORT: String(apiPort), MIGRATE_ON_START: 'true', WORKER_METRICS_PORT: '0' },
      { echo: VERBOSE, nodeArgs: this.profileArgs('api') },
    );
    await this.api.waitForLine(/tern api listening/, STARTUP_S * 1000);
    this.cpu.track('api', this.api.pid);
    log(`API up on ${this.apiBase}`);

    await this.setup();
    if (PHASES.has('ingest')) await this.phaseIngest();
    if (PHASES.has('filter')) await this.phaseFilter();
    await this.truncate();
    // Throughput, worker group e2e: e2e leaves its worker running for fanout.
    if (PHASES.has('e2e')) await this.phaseE2e();
    if (PHASES.has('fanout')) await this.phaseFanout();
    await this.stopWorker();
    if (PHASES.has('raw')) await this.phaseRaw();
    if (PHASES.has('scaleout')) await this.phaseScaleout();
    if (PHASES.has('ordered')) await this.phaseOrdered();
    // Latency, worker group lag; the blackhole last: its endpoint is deleted after it, but its cost may linger.
    if (PHASES.has('lag')) await this.phaseLag();
    if (PHASES.has('latency')) await this.phaseLatency();
    if (PHASES.has('fairness')) await this.phaseFairness();
    if (PHASES.has('blackhole')) await this.phaseBlackhole();
    this.report.machine.loadavgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
    this.report.postgresTables = await this.tableStats();
  }

  private sinkUrl(label: string): string {
    return `http://127.0.0.1:${this.sinkPort}/h/${label}`;
  }

  /** A new application; returns its API key. */
  private async createApplication(name: string): Promise<string> {
    const app = await http(this.apiBase, 'POST', '/v1/applications', this.adminKey, { name });
    return app.apiKey.key as string;
  }

  /** An endpoint subscribed to one event type, remembered under `label` (its sink label). */
  private async createEndpoint(
    key: string,
    label: string,
    url: string,
    eventType: string,
    extra: Record<string, unknown> = {},
  ): Promise<string> {
    const ep = await http(this.apiBase, 'POST', '/v1/endpoints', key, {
      url,
      eventTypes: [eventType],
      ...extra,
    });
    this.endpoints[label] = ep.id as string;
    return ep.id as string;
  }

  /** Soft-deletes an endpoint: its pending deliveries are failed (`endpoint_deleted`), so they cost nothing later. */
  private async deleteEndpoint(key: string, label: string): Promise<void> {
    await http(this.apiBase, 'DELETE', `/v1/endpoints/${this.endpoints[label]}`, key);
  }

  private async setup(): Promise<void> {
    this.appKey = await this.createApplication('bench');
    for (const [label, type] of [
      ['ingest', EVENT_TYPES.ingest],
      ['e2e', EVENT_TYPES.e2e],
      ['lag', EVENT_TYPES.lag],
      ['latency', EVENT_TYPES.latency],
      ['warmup', EVENT_TYPES.warmup],
    ]) {
      await this.createEndpoint(this.appKey, label, this.sinkUrl(label), type);
    }
  }

  /**
   * `count` events of `eventType` through POST /v1/events/batch, `batch` per request, PRELOAD_LANES requests at
   * a time. Returns how long it took (ms).
   */
  private async preload(
    key: string,
    eventType: string,
    count: number,
    batch = PRELOAD_BATCH,
    partitionKeys = 0,
  ): Promise<number> {
    const filler = 'x'.repeat(PAYLOAD_BYTES - 120);
    const t0 = wallNow();
    let next = 0;
    const lane = async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + batch);
        const events = [];
        for (let i = from; i < next; i++) {
          const event = { eventType, payload: payload(i, filler) };
          events.push(partitionKeys > 0 ? { ...event, partitionKey: `k${i % partitionKeys}` } : event);
        }
        await http(this.apiBase, 'POST', '/v1/events/batch', key, { events });
      }
    };
    await Promise.all(Array.from({ length: PRELOAD_LANES }, lane));
    return wallNow() - t0;
  }

  /** Deliveries of an endpoint per status. */
  private async deliveryStatuses(label: string): Promise<Record<string, number>> {
    return withPg(this.dbUrl, async (c) => {
      const r = await c.query<{ status: string; n: string }>(
        `SELECT status::text, count(*) AS n FROM deliveries WHERE endpoint_id = $1 GROUP BY 1`,
        [this.endpoints[label]],
      );
      return Object.fromEntries(r.rows.map((x) => [x.status, Number(x.n)]));
    });
  }

  private async pendingCount(label: string): Promise<number> {
    return (await this.deliveryStatuses(label)).pending ?? 0;
  }

  /**
   * Keeps `label`'s undelivered events at `target` until `stop()`: every FAIRNESS_TOPUP_POLL_MS, whole batches of
   * PRELOAD_BATCH events for what is missing. Undelivered = `loaded` + added − what the sink has (its in-process
   * count: a count(*) of the backlog every 200 ms took 60 ms of Postgres each, enough to mark the machine busy).
   * `stop()` resolves to the events added and the lowest undelivered count seen.
   */
  private topUp(
    key: string,
    eventType: string,
    label: string,
    target: number,
    loaded: number,
  ): { stop: () => Promise<{ added: number; minPending: number }> } {
    let stopped = false;
    let added = 0;
    let minPending = Infinity;
    const loop = (async () => {
      while (!stopped) {
        const pending = loaded + added - (await this.sinkStats(label)).unique;
        minPending = Math.min(minPending, pending);
        const batches = Math.floor((target - pending) / PRELOAD_BATCH);
        if (batches > 0) {
          await this.preload(key, eventType, batches * PRELOAD_BATCH);
          added += batches * PRELOAD_BATCH;
        } else await sleep(FAIRNESS_TOPUP_POLL_MS);
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop;
        return { added, minPending };
      },
    };
  }

  /** Labels our Postgres backends (client connections to the scratch database) for CPU accounting. */
  private async trackBackends(): Promise<void> {
    await withPg(this.dbUrl, async (c) => {
      const rows = await c.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [this.dbName],
      );
      for (const r of rows.rows) {
        this.ourBackends.add(r.pid);
        this.cpu.track('postgres', r.pid);
      }
    });
  }

  /**
   * Waits (at most QUIET_WAIT_SECONDS) until processes outside the bench use less than OTHER_LOAD_WARN cores over
   * a second — the machine is shared — and records how long that took.
   */
  private async waitQuiet(phase: string): Promise<void> {
    await this.trackBackends();
    const t0 = wallNow();
    let other = 0;
    for (let i = 0; i < QUIET_WAIT_SECONDS; i++) {
      const a = this.cpu.snapshot();
      await sleep(1000);
      other = cpuBetween(a, this.cpu.snapshot()).other;
      if (other < OTHER_LOAD_WARN) break;
    }
    const waited = Math.round(wallNow() - t0);
    const quiet = (this.report.machine.otherLoadBeforePhase ??= {}) as Record<string, unknown>;
    quiet[phase] = { otherCores: other, waitedMs: waited };
    if (other >= OTHER_LOAD_WARN)
      log(`${phase}: machine still busy (${other} cores used by other processes)`);
  }

  /** The CPU snapshot a phase is measured from, after waitQuiet unless `quietWait` is false. */
  private async cpuStart(phase: string, quietWait = true): Promise<CpuSnapshot> {
    if (quietWait) await this.waitQuiet(phase);
    else await this.trackBackends();
    return this.cpu.snapshot();
  }

  private async cpuEnd(start: CpuSnapshot): Promise<Record<string, number>> {
    await this.trackBackends();
    return cpuBetween(start, this.cpu.snapshot());
  }

  /** The cluster's WAL position (bytes): WAL written in a phase = difference (cluster-wide, so also others'). */
  private async walLsn(): Promise<string> {
    return withPg(
      this.dbUrl,
      async (c) => (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l,
    );
  }

  private async walSince(lsn: string): Promise<number> {
    return withPg(this.dbUrl, async (c) => {
      const r = await c.query<{ b: string }>(
        'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS b',
        [lsn],
      );
      return Number(r.rows[0].b);
    });
  }

  /**
   * Keeps the WAL of a phase readable until walOfThisDatabase has read it: a temporary physical replication slot
   * (dropped with its session, so also if the bench dies) on a connection of its own. Null where it can't be had
   * (no pg_walinspect, or not a superuser): the phase then reports the cluster-wide figure only.
   */
  private async walHold(): Promise<{ client: Client; lsn: string } | null> {
    const client = new Client({ connectionString: this.dbUrl });
    try {
      await client.connect();
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
      await client.query(`SELECT pg_create_physical_replication_slot($1, true, true)`, [this.dbName]);
      const r = await client.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l');
      this.walHolder = client;
      return { client, lsn: r.rows[0].l };
    } catch (err) {
      log(`WAL of this database not measured: ${err instanceof Error ? err.message : String(err)}`);
      await client.end().catch(() => undefined);
      return null;
    }
  }

  /**
   * The WAL written since `hold.lsn` that belongs to this database (pg_walinspect): records on its relations, plus
   * the commit records of the transactions that wrote them. Unlike pg_current_wal_lsn() differences, others'
   * databases on the same cluster don't count. Per relation and per record type; `fpi` = full-page images (their
   * amount depends on when checkpoints fall).
   */
  private async walOfThisDatabase(
    hold: { client: Client; lsn: string },
    perUnit: number,
  ): Promise<Record<string, unknown>> {
    const c = hold.client;
    const per = (b: string) => Math.round(Number(b) / Math.max(1, perUnit));
    try {
      const end = (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l;
      await c.query(
        `CREATE TEMP TABLE wal_mine AS
         WITH r AS (
           SELECT xid, resource_manager || ' ' || record_type AS kind, record_length, fpi_length,
                  (regexp_match(block_ref, 'rel \\d+/(\\d+)/(\\d+)'))::oid[] AS m
           FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
         ), mine AS (
           SELECT * FROM r WHERE m[1] = (SELECT oid FROM pg_database WHERE datname = current_database())
         )
         SELECT * FROM mine
         UNION ALL
         SELECT r.* FROM r WHERE r.m IS NULL AND r.xid IN (SELECT xid FROM mine WHERE xid <> 0)`,
        [hold.lsn, end],
      );
      const total = await c.query<{ records: string; bytes: string; fpi: string }>(
        `SELECT count(*) AS records, coalesce(sum(record_length), 0) AS bytes, coalesce(sum(fpi_length), 0) AS fpi
         FROM wal_mine`,
      );
      const byRelation = await c.query<{ rel: string; records: string; bytes: string; fpi: string }>(
        `SELECT coalesce(pg_filenode_relation(0, m[2])::text, CASE WHEN m IS NULL THEN '(commits)'
                         ELSE 'filenode ' || m[2] END) AS rel,
                count(*) AS records, sum(record_length) AS bytes, sum(fpi_length) AS fpi
         FROM wal_mine GROUP BY 1 ORDER BY sum(record_length) DESC`,
      );
      const byKind = await c.query<{ kind: string; records: string; bytes: string; fpi: string }>(
        `SELECT kind, count(*) AS records, sum(record_length) AS bytes, sum(fpi_length) AS fpi
         FROM wal_mine GROUP BY 1 ORDER BY sum(record_length) DESC`,
      );
      const t = total.rows[0];
      const rows = (xs: { records: string; bytes: string; fpi: string }[], key: (x: any) => string) =>
        Object.fromEntries(
          xs.map((x) => [key(x), { records: per(x.records), bytes: per(x.bytes), fpi: per(x.fpi) }]),
        );
      return {
        per: perUnit,
        records: per(t.records),
        bytes: per(t.bytes),
        fpiBytes: per(t.fpi),
        bytesWithoutFpi: per(String(Number(t.bytes) - Number(t.fpi))),
        byRelation: rows(byRelation.rows, (x) => x.rel),
        byRecordType: rows(byKind.rows, (x) => x.kind),
      };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    } finally {
      this.walHolder = null;
      await c.end().catch(() => undefined);
    }
  }

  /**
   * Row writes per table since the database was created: inserts, updates and how many updates were HOT; and the
   * sizes of the table and its indexes at the end.
   */
  private async tableStats(): Promise<Record<string, unknown>> {
    return withPg(this.dbUrl, async (c) => {
      const r = await c.query<Record<string, string>>(
        `SELECT t.relname AS table, t.n_tup_ins AS inserts, t.n_tup_upd AS updates, t.n_tup_hot_upd AS hot_updates,
                (SELECT count(*) FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = t.relname) AS indexes,
                pg_relation_size(t.relid) AS heap_bytes, pg_indexes_size(t.relid) AS index_bytes
         FROM pg_stat_user_tables t WHERE t.relname IN ('events', 'deliveries', 'endpoint_states', 'attempts')
         ORDER BY t.relname`,
      );
      return Object.fromEntries(
        r.rows.map((x) => [
          x.table,
          {
            indexes: Number(x.indexes),
            inserts: Number(x.inserts),
            updates: Number(x.updates),
            hotUpdates: Number(x.hot_updates),
            heapBytes: Number(x.heap_bytes),
            indexBytes: Number(x.index_bytes),
          },
        ]),
      );
    });
  }

  /** Throws if a process the phase depends on has died (instead of waiting out a timeout). */
  private assertAlive(): void {
    for (const c of [this.redisServer, this.api, this.sink, ...this.workers]) {
      if (c && !c.running) throw new Error(`${c.name} exited unexpectedly:\n${c.output()}`);
    }
  }

  private async sinkStats(
    label: string,
    arrivals = false,
  ): Promise<SinkStats & { blackhole: BlackholeStats }> {
    const r = await rpc<{ stats: SinkStats; blackhole: BlackholeStats }>(
      this.sink!.proc,
      { type: 'stats', label, arrivals },
      20_000,
    );
    return { ...r.stats, blackhole: r.blackhole };
  }

  private async workerCounters(): Promise<Record<string, number>> {
    if (this.workers.length === 0) return {};
    try {
      const res = await fetch(`http://127.0.0.1:${this.workerMetricsPort}/metrics`, {
        signal: AbortSignal.timeout(5000),
      });
      const text = await res.text();
      const out: Record<string, number> = {};
      for (const line of text.split('\n')) {
        const m =
          /^(tern_(?:delivery_claims_skipped|delivery_attempts|deliveries_released)_total)(\{[^}]*\})? (\S+)$/.exec(
            line,
          );
        if (m) out[m[1] + (m[2] ?? '')] = Number(m[3]);
      }
      return out;
    } catch {
      return {};
    }
  }

  private static counterDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(b)) {
      const d = v - (a[k] ?? 0);
      if (d) out[k] = d;
    }
    return out;
  }

  /** `count` worker processes with the settings of `group`; returns when they were spawned. */
  private async startWorker(group: WorkerGroup, count = WORKERS): Promise<number> {
    const t0 = wallNow();
    const env = this.env(group);
    for (let i = 0; i < count; i++) {
      const name = count > 1 ? `worker-${group}-${i + 1}` : `worker-${group}`;
      const child = startNode(
        name,
        join(DIST, 'apps/worker/src/main.js'),
        // Only the first worker serves metrics (one port per host).
        {
          ...env,
          MIGRATE_ON_START: 'false',
          WORKER_METRICS_PORT: String(i === 0 ? this.workerMetricsPort : 0),
        },
        { echo: VERBOSE, nodeArgs: [...WORKER_NODE_ARGS, ...this.profileArgs(name)] },
      );
      this.workers.push(child);
      this.cpu.track('worker', child.pid);
    }
    this.workerGroup = group;
    await Promise.all(this.workers.map((w) => w.waitForLine(/tern worker running/, STARTUP_S * 1000)));
    log(
      `${count} worker(s) up (${Math.round(wallNow() - t0)} ms): WORKER_CONCURRENCY=${env.WORKER_CONCURRENCY}, ` +
        `ENDPOINT_MAX_IN_FLIGHT=${env.ENDPOINT_MAX_IN_FLIGHT}` +
        (WORKER_NODE_ARGS.length ? `, node ${WORKER_NODE_ARGS.join(' ')}` : ''),
    );
    return t0;
  }

  /** Workers of `group` running (WORKERS of them), restarted if another group's are. */
  private async ensureWorker(group: WorkerGroup): Promise<void> {
    if (this.workers.length > 0 && this.workerGroup === group) return;
    await this.stopWorker();
    await this.startWorker(group);
  }

  private async stopWorker(): Promise<void> {
    const stopping = this.workers.splice(0);
    for (const w of stopping) this.noteErrors(w);
    await Promise.all(stopping.map((w) => w.stop(8000)));
    this.workerGroup = null;
  }

  // ---- a. ingestion -------------------------------------------------------------------------------------------

  private async phaseIngest(): Promise<void> {
    const script = join(DIST, 'bench/ingest.bench.js');
    if (!existsSync(script)) {
      this.report.errors.push('ingest: dist/bench/ingest.bench.js not found; phase skipped');
      return;
    }
    log(`ingest: autocannon (bench/ingest.bench.ts), ${SECONDS} s single + ${SECONDS} s batch of 100`);
    const cpu0 = await this.cpuStart('ingest');
    const out = await this.ingestLoad(script, 'ingest', this.appKey, SECONDS);
    const cpu = await this.cpuEnd(cpu0);
    const apiCpuMs = cpuMsOf(cpu0, this.cpu.snapshot(), 'api');
    const parse = (name: string) => {
      const m = new RegExp(
        `${name}: (\\d+) events/s \\((\\d+) requests/s.*latency p50 ([\\d.]+) ms, p99 ([\\d.]+) ms.*statuses ([^|]*?) errors (\\d+)`,
      ).exec(out);
      return m
        ? {
            eventsPerSecond: Number(m[1]),
            requestsPerSecond: Number(m[2]),
            latencyP50Ms: Number(m[3]),
            latencyP99Ms: Number(m[4]),
            statuses: m[5].trim(),
            errors: Number(m[6]),
          }
        : null;
    };
    const probe = /probe event \S+: (\d+) deliveries per event/.exec(out);
    const events = accepted(out);
    this.report.phases.ingest = {
      what: 'autocannon via bench/ingest.bench.ts (32 connections), API only (no worker running), 1 endpoint subscribed',
      deliveriesPerEvent: probe ? Number(probe[1]) : null,
      single: parse('single'),
      batch100: parse('batch'),
      cpuCores: cpu,
      apiCpuMsPerEvent: events ? Math.round((apiCpuMs / events) * 1000) / 1000 : null,
      output: out.split('\n').filter((l) => /events\/s|probe/.test(l)),
    };
  }

  /**
   * Runs bench/ingest.bench.ts (INGEST_PHASES, batches of 100) for `seconds` per mode with application `key`;
   * returns its output. A failed or stuck run is stopped and noted in the report's errors.
   */
  private async ingestLoad(script: string, name: string, key: string, seconds: number): Promise<string> {
    const child = startNode(
      name,
      script,
      {
        BASE_URL: this.apiBase,
        APP_KEY: key,
        DURATION: String(seconds),
        BATCH_SIZE: '100',
        PHASES: INGEST_PHASES.join(','),
      },
      { echo: true },
    );
    this.loadgens.push(child);
    this.cpu.track('loadgen', child.pid);
    const code = await Promise.race([child.exited, sleep((2 * seconds + 60) * 1000).then(() => 'timeout')]);
    if (code !== 0) {
      await child.stop(2000);
      this.report.errors.push(`${name}: ingest.bench exited with ${code}`);
    }
    return child.output();
  }

  // ---- a'. payload filters at ingest ---------------------------------------------------------------------------

  private async phaseFilter(): Promise<void> {
    const script = join(DIST, 'bench/ingest.bench.js');
    if (!existsSync(script)) {
      this.report.errors.push('filter: dist/bench/ingest.bench.js not found; phase skipped');
      return;
    }
    const keys = {
      none: await this.createApplication('bench filter: none'),
      filtered: await this.createApplication('bench filter: 10 clauses'),
    };
    for (let i = 0; i < FILTER_ENDPOINTS; i++) {
      // Subscribed to every type (ingest.bench sends bench.ingest); the sink is never called (no worker runs).
      await http(this.apiBase, 'POST', '/v1/endpoints', keys.none, { url: this.sinkUrl(`filter-none-${i}`) });
      await http(this.apiBase, 'POST', '/v1/endpoints', keys.filtered, {
        url: this.sinkUrl(`filter-on-${i}`),
        filter: TEN_CLAUSE_FILTER,
      });
    }
    const order: ('none' | 'filtered')[] = ['none', 'filtered', 'filtered', 'none'];
    log(
      `filter: ingest (${INGEST_PHASES.join(', ')}) ${FILTER_SECONDS} s per run, ${FILTER_ENDPOINTS} endpoints, ` +
        `runs ${order.join(' → ')}`,
    );
    const cpu0 = await this.cpuStart('filter');
    const runs: {
      variant: string;
      single: number | null;
      batch: number | null;
      deliveriesPerEvent: number | null;
      events: number;
      apiCpuMs: number;
    }[] = [];
    for (const variant of order) {
      const before = this.cpu.snapshot();
      const out = await this.ingestLoad(script, `filter-${variant}`, keys[variant], FILTER_SECONDS);
      const rate = (name: string) => {
        const m = new RegExp(`${name}: (\\d+) events/s`).exec(out);
        return m ? Number(m[1]) : null;
      };
      const probe = /probe event \S+: (\d+) deliveries per event/.exec(out);
      runs.push({
        variant,
        single: rate('single'),
        batch: rate('batch'),
        deliveriesPerEvent: probe ? Number(probe[1]) : null,
        events: accepted(out),
        apiCpuMs: Math.round(cpuMsOf(before, this.cpu.snapshot(), 'api')),
      });
    }
    const cpu = await this.cpuEnd(cpu0);
    const total = (variant: string, mode: 'single' | 'batch') => {
      const xs = runs.filter((r) => r.variant === variant).map((r) => r[mode]);
      return xs.every((x): x is number => x !== null) ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    };
    const ratio = (mode: 'single' | 'batch') => {
      const none = total('none', mode);
      const filtered = total('filtered', mode);
      return none && filtered !== null ? round2(filtered / none) : null;
    };
    /** API CPU per accepted event, over both runs of a variant: steadier than events/s on a shared machine. */
    const cpuPerEvent = (variant: string) => {
      const mine = runs.filter((r) => r.variant === variant);
      const events = mine.reduce((n, r) => n + r.events, 0);
      return events ? Math.round((mine.reduce((n, r) => n + r.apiCpuMs, 0) / events) * 1000) / 1000 : null;
    };
    this.report.phases.filter = {
      what:
        `ingest.bench (32 connections) for an application with ${FILTER_ENDPOINTS} endpoints with a 10-clause ` +
        'filter each (all matching) and one with as many endpoints without filter; runs none, filtered, filtered, ' +
        'none; API only',
      filter: TEN_CLAUSE_FILTER,
      runs,
      single: {
        none: total('none', 'single'),
        filtered: total('filtered', 'single'),
        ratio: ratio('single'),
      },
      batch100: { none: total('none', 'batch'), filtered: total('filtered', 'batch'), ratio: ratio('batch') },
      apiCpuMsPerEvent: { none: cpuPerEvent('none'), filtered: cpuPerEvent('filtered') },
      cpuCores: cpu,
    };
    // Its events are not part of what later phases count.
    await this.truncate();
  }

  /**
   * ANALYZE the scratch database. After the TRUNCATE (or on a new database) the planner sees near-empty tables and
   * every pooled backend caches a sequential scan for its foreign-key checks (deliveries → events: the whole events
   * heap read per delivery inserted, 178 pages per check on average, 1.2 ms — most of Postgres's CPU in a fairness
   * run loaded from empty) until autovacuum's next analyze. An ANALYZE once a table has grown invalidates those
   * plans: what a database in service has.
   */
  private async analyze(): Promise<void> {
    await withPg(this.dbUrl, (c) => c.query('ANALYZE'));
  }

  /** Empties the event tables (the scratch database is ours): the e2e backlog is then exactly E2E_EVENTS. */
  private async truncate(): Promise<void> {
    // autocannon stops with requests still queued in the API: wait until the event count stops moving (else
    // they land after the TRUNCATE and join the e2e backlog), and retry if TRUNCATE deadlocks with one anyway.
    let last = -1;
    await waitUntil('the API to finish the ingest requests', 30_000, async () => {
      const n = await withPg(this.dbUrl, async (c) => {
        const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM events');
        return Number(r.rows[0].n);
      });
      const stable = n === last;
      last = n;
      if (!stable) await sleep(400);
      return stable;
    });
    for (let i = 1; ; i++) {
      try {
        await withPg(this.dbUrl, async (c) => {
          await c.query('TRUNCATE events, deliveries, endpoint_states, attempts, partition_blocks');
          await c.query('ANALYZE');
        });
        return;
      } catch (err) {
        if (i >= 5 || (err as { code?: string }).code !== '40P01') throw err;
        await sleep(500);
      }
    }
  }

  // ---- b. end-to-end deliveries/s -----------------------------------------------------------------------------

  /**
   * Starts `workers` worker processes (group e2e) on a backlog of `events` deliveries to `label` loaded while no
   * worker ran, and waits until the sink has them all: rate = (deliveries − 1) / (last arrival − first arrival).
   * The workers are left running.
   */
  private async drainBacklog(phase: string, label: string, events: number, workers: number): Promise<any> {
    const cpu0 = await this.cpuStart(phase);
    const hold = await this.walHold();
    const wal0 = await this.walLsn();
    const redis0 = await this.redisCommands();
    const counters0 = await this.workerCounters();
    const spawnedAt = await this.startWorker('e2e', workers);
    const workerReadyAt = wallNow();
    const complete = await waitUntil(`the ${phase} backlog to drain`, BACKLOG_DRAIN_S * 1000, async () => {
      this.assertAlive();
      const s = await this.sinkStats(label);
      if (s.unique === 0 && wallNow() - workerReadyAt > FIRST_ARRIVAL_S * 1000) {
        const w = this.workers[0];
        throw new Error(
          `no delivery reached the sink ${FIRST_ARRIVAL_S} s after the worker started (${w?.errorLines ?? 0} ` +
            `error lines; first: ${w?.firstError ?? 'none'})`,
        );
      }
      return s.unique >= events;
    });
    const cpu = await this.cpuEnd(cpu0);
    const walBytes = await this.walSince(wal0);
    const redisCommands = (await this.redisCommands()) - redis0;
    const s = await this.sinkStats(label);
    const walMine = hold ? await this.walOfThisDatabase(hold, s.unique) : null;
    const counters = Bench.counterDelta(counters0, await this.workerCounters());
    const spanMs = s.firstAt !== null && s.lastAt !== null ? s.lastAt - s.firstAt : null;
    return {
      workers,
      complete,
      received: s.requests,
      unique: s.unique,
      duplicates: s.duplicates,
      firstToLastMs: spanMs === null ? null : Math.round(spanMs),
      deliveriesPerSecond: spanMs ? Math.round(((s.unique - 1) / spanMs) * 1000) : null,
      workerStartMs: Math.round(workerReadyAt - spawnedAt),
      readyToFirstArrivalMs: s.firstAt === null ? null : Math.round(s.firstAt - workerReadyAt),
      spawnToLastArrivalMs: s.lastAt === null ? null : Math.round(s.lastAt - spawnedAt),
      deliveryStatuses: await this.deliveryStatuses(label),
      walBytesPerDelivery: Math.round(walBytes / Math.max(1, s.unique)),
      redisCommandsPerDelivery: round2(redisCommands / Math.max(1, s.unique)),
      walOfThisDatabasePerDelivery: walMine,
      workerCounters: counters,
      ...(workers > 1 ? { workerCountersOf: 'the first worker only' } : {}),
      cpuCores: cpu,
    };
  }

  private async phaseE2e(): Promise<void> {
    log(`e2e: pre-loading ${E2E_EVENTS} events (batches of ${PRELOAD_BATCH}), no worker running`);
    await this.stopWorker();
    const preloadMs = await this.preload(this.appKey, EVENT_TYPES.e2e, E2E_EVENTS);
    await this.analyze();
    log(`e2e: pre-loaded in ${Math.round(preloadMs)} ms; starting the worker`);
    const drained = await this.drainBacklog('e2e', 'e2e', E2E_EVENTS, WORKERS);
    this.report.phases.e2e = {
      what: `${E2E_EVENTS} events pre-loaded with no worker running; rate = unique deliveries received / (last arrival − first arrival)`,
      preloadMs: Math.round(preloadMs),
      preloadEventsPerSecond: Math.round((E2E_EVENTS / preloadMs) * 1000),
      ...drained,
    };
    log(
      `e2e: ${fmt(drained.deliveriesPerSecond)} deliveries/s (${drained.unique} in ${fmt(drained.firstToLastMs)} ms first→last)`,
    );
  }

  // ---- f. fan-out ---------------------------------------------------------------------------------------------

  /**
   * FANOUT_ENDPOINTS endpoints of one application, all on the sink and subscribed to one type; FANOUT_EVENTS
   * events sent in batches of FANOUT_BATCH while the worker runs. Rate = deliveries / (first request sent → last
   * arrival at the sink, any endpoint).
   */
  private async phaseFanout(): Promise<void> {
    const key = await this.createApplication('bench-fanout');
    const labels = Array.from({ length: FANOUT_ENDPOINTS }, (_, i) => `fanout-${i + 1}`);
    for (const label of labels)
      await this.createEndpoint(key, label, this.sinkUrl(label), EVENT_TYPES.fanout);
    await this.ensureWorker('e2e');
    const expected = FANOUT_EVENTS * FANOUT_ENDPOINTS;
    log(
      `fanout: ${FANOUT_EVENTS} events × ${FANOUT_ENDPOINTS} endpoints via /v1/events/batch ×${FANOUT_BATCH}, ` +
        'worker running',
    );
    const all = async () => {
      const out: SinkStats[] = [];
      for (const l of labels) out.push(await this.sinkStats(l));
      return out;
    };
    const cpu0 = await this.cpuStart('fanout');
    const wal0 = await this.walLsn();
    const redis0 = await this.redisCommands();
    const counters0 = await this.workerCounters();
    const firstRequestAt = wallNow();
    const sendMs = await this.preload(key, EVENT_TYPES.fanout, FANOUT_EVENTS, FANOUT_BATCH);
    const complete = await waitUntil('the fan-out deliveries', BACKLOG_DRAIN_S * 1000, async () => {
      this.assertAlive();
      return (await all()).reduce((n, s) => n + s.unique, 0) >= expected;
    });
    const cpu = await this.cpuEnd(cpu0);
    const walBytes = await this.walSince(wal0);
    const redisCommands = (await this.redisCommands()) - redis0;
    const counters = Bench.counterDelta(counters0, await this.workerCounters());
    const stats = await all();
    const unique = stats.reduce((n, s) => n + s.unique, 0);
    const lastAt = Math.max(...stats.map((s) => s.lastAt ?? -Infinity));
    const spanMs = Number.isFinite(lastAt) ? lastAt - firstRequestAt : null;
    this.report.phases.fanout = {
      what:
        `${FANOUT_EVENTS} events to ${FANOUT_ENDPOINTS} endpoints of one application (${expected} deliveries), ` +
        `sent via /v1/events/batch ×${FANOUT_BATCH} (${PRELOAD_LANES} requests at a time) while the worker runs; ` +
        'rate = unique deliveries / (first request sent → last arrival)',
      expected,
      complete,
      unique,
      duplicates: stats.reduce((n, s) => n + s.duplicates, 0),
      sendMs: Math.round(sendMs),
      firstRequestToLastArrivalMs: spanMs === null ? null : Math.round(spanMs),
      deliveriesPerSecond: spanMs ? Math.round((unique / spanMs) * 1000) : null,
      perEndpoint: Object.fromEntries(stats.map((s) => [s.label, s.unique])),
      walBytesPerDelivery: Math.round(walBytes / Math.max(1, unique)),
      redisCommandsPerDelivery: round2(redisCommands / Math.max(1, unique)),
      workerCounters: counters,
      cpuCores: cpu,
    };
    log(
      `fanout: ${fmt(this.report.phases.fanout.deliveriesPerSecond)} deliveries/s (${unique} of ${expected})`,
    );
  }

  // ---- g. scale-out -------------------------------------------------------------------------------------------

  /**
   * The e2e measurement with one worker process, then with SCALEOUT_WORKERS (what `WORKER_PROCESSES=N npm start`
   * runs: N worker processes on one database and Redis), each on its own backlog and endpoint. Then checks that no
   * delivery got two succeeded attempts.
   */
  private async phaseScaleout(): Promise<void> {
    const counts = [1, SCALEOUT_WORKERS];
    const variants: Record<string, any> = {};
    await this.stopWorker();
    for (const n of counts) {
      const label = `scaleout-w${n}`;
      await this.createEndpoint(this.appKey, label, this.sinkUrl(label), EVENT_TYPES.scaleout(n));
      log(`scaleout: ${SCALEOUT_EVENTS} events pre-loaded, then ${n} worker process(es) drain them`);
      const preloadMs = await this.preload(this.appKey, EVENT_TYPES.scaleout(n), SCALEOUT_EVENTS);
      await this.analyze();
      variants[String(n)] = {
        preloadMs: Math.round(preloadMs),
        ...(await this.drainBacklog(`scaleout-${n}`, label, SCALEOUT_EVENTS, n)),
      };
      await this.stopWorker();
      log(`scaleout: ${n} worker(s): ${fmt(variants[String(n)].deliveriesPerSecond)} deliveries/s`);
    }
    const doubled = await withPg(this.dbUrl, async (c) => {
      const r = await c.query<{ n: string }>(
        `SELECT count(*) AS n FROM (
           SELECT delivery_id FROM attempts
           WHERE outcome = 'succeeded' AND endpoint_id = ANY($1::text[])
           GROUP BY delivery_id HAVING count(*) > 1) twice`,
        [counts.map((n) => this.endpoints[`scaleout-w${n}`])],
      );
      return Number(r.rows[0].n);
    });
    const one = variants['1'].deliveriesPerSecond as number | null;
    const many = variants[String(SCALEOUT_WORKERS)].deliveriesPerSecond as number | null;
    this.report.phases.scaleout = {
      what:
        `the e2e measurement (${SCALEOUT_EVENTS} pre-loaded events, worker group e2e) with 1 and with ` +
        `${SCALEOUT_WORKERS} worker processes, one after the other, each on its own endpoint`,
      variants,
      ratio: one && many ? round2(many / one) : null,
      deliveriesWithTwoSucceededAttempts: doubled,
    };
    log(
      `scaleout: ${SCALEOUT_WORKERS} / 1 workers = ${fmt(this.report.phases.scaleout.ratio, 2)}; ` +
        `deliveries with two succeeded attempts: ${doubled}`,
    );
  }

  // ---- ordered delivery ----------------------------------------------------------------------------------------

  /**
   * The e2e measurement (one worker process, pre-loaded backlog) on an unordered endpoint, then on one with
   * ordering partitioned whose events carry ORDERED_KEYS partition keys: what ordering costs in throughput.
   */
  private async phaseOrdered(): Promise<void> {
    const variants: Record<string, any> = {};
    await this.stopWorker();
    const keyed = `keys${ORDERED_KEYS}`;
    // An ordered endpoint never has more than one delivery per key out: with ORDERED_KEYS keys, at most that many.
    // The unordered endpoint is measured at the default maxInFlight and at that same cap: the second ratio is what
    // ordering itself costs, the first also counts the cap the keys impose.
    for (const [variant, extra, keys] of [
      ['unordered', {}, 0],
      [`unordered-cap${ORDERED_KEYS}`, { maxInFlight: ORDERED_KEYS }, 0],
      [keyed, { ordering: 'partitioned' }, ORDERED_KEYS],
    ] as const) {
      const label = `ordered-${variant}`;
      await this.createEndpoint(this.appKey, label, this.sinkUrl(label), EVENT_TYPES.ordered(variant), extra);
      log(
        `ordered: ${ORDERED_EVENTS} events pre-loaded (${keys || 'no'} partition keys), then one worker drains them`,
      );
      const preloadMs = await this.preload(
        this.appKey,
        EVENT_TYPES.ordered(variant),
        ORDERED_EVENTS,
        PRELOAD_BATCH,
        keys,
      );
      variants[variant] = {
        endpoint: extra,
        partitionKeys: keys,
        preloadMs: Math.round(preloadMs),
        ...(await this.drainBacklog(label, label, ORDERED_EVENTS, 1)),
      };
      await this.stopWorker();
      log(`ordered: ${variant}: ${fmt(variants[variant].deliveriesPerSecond)} deliveries/s`);
    }
    const rate = (v: string) => variants[v].deliveriesPerSecond as number | null;
    const ratio = (a: number | null, b: number | null) => (a && b ? round2(a / b) : null);
    this.report.phases.ordered = {
      what:
        `the e2e measurement (${ORDERED_EVENTS} pre-loaded events, one worker process, worker group e2e) on an ` +
        `unordered endpoint (default maxInFlight, then maxInFlight ${ORDERED_KEYS}), then on one with ordering ` +
        `partitioned and ${ORDERED_KEYS} partition keys`,
      variants,
      ratio: ratio(rate(keyed), rate(`unordered-cap${ORDERED_KEYS}`)),
      ratioToDefaultCap: ratio(rate(keyed), rate('unordered')),
    };
    log(
      `ordered: ${ORDERED_KEYS} keys / unordered at maxInFlight ${ORDERED_KEYS} = ` +
        `${fmt(this.report.phases.ordered.ratio, 2)}; / unordered at the default = ` +
        `${fmt(this.report.phases.ordered.ratioToDefaultCap, 2)}`,
    );
  }

  // ---- e. raw signed POSTs ------------------------------------------------------------------------------------

  private async phaseRaw(): Promise<void> {
    log(`raw: signed POSTs with WebhookSender, ${RAW_CONNECTIONS} connections, ${SECONDS} s`);
    const child = startNode('raw', join(__dirname, 'bench-raw-sender.js'), {}, { ipc: true, echo: VERBOSE });
    this.loadgens.push(child);
    await child.waitReady(10_000);
    this.cpu.track('loadgen', child.pid);
    const before = await this.sinkStats('raw');
    const cpu0 = await this.cpuStart('raw');
    const run: RawRun = {
      url: `http://127.0.0.1:${this.sinkPort}/h/raw`,
      secret: `whsec_${randomBytes(32).toString('base64')}`,
      seconds: SECONDS,
      connections: RAW_CONNECTIONS,
      payloadBytes: PAYLOAD_BYTES,
      eventType: EVENT_TYPES.e2e,
    };
    const { result } = await rpc<{ result: RawResult }>(
      child.proc,
      { type: 'run', run },
      (SECONDS + 60) * 1000,
    );
    const cpu = await this.cpuEnd(cpu0);
    const after = await this.sinkStats('raw');
    await child.stop(2000);
    this.report.phases.raw = {
      what: `WebhookSender + signatureHeader in a separate process, ${RAW_CONNECTIONS} closed loops (keep-alive connections), same sink`,
      ...result,
      sinkReceived: after.requests - before.requests,
      cpuCores: cpu,
    };
    log(`raw: ${fmt(result.perSecond)} signed POSTs/s`);
  }

  // ---- c. open-loop measurements (lag, latency, fairness, blackhole) ------------------------------------------

  private async startOpenLoopSender(): Promise<Child> {
    const child = startNode(
      'openloop',
      join(__dirname, 'bench-open-loop.js'),
      {},
      { ipc: true, echo: VERBOSE },
    );
    this.loadgens.push(child);
    await child.waitReady(10_000);
    this.cpu.track('loadgen', child.pid);
    return child;
  }

  private openLoopRun(key: string, eventTypes: string[], rate: number, seconds: number): OpenLoopRun {
    return {
      origin: this.apiBase,
      key,
      eventTypes,
      rate,
      seconds,
      connections: OPEN_LOOP_CONNECTIONS,
      maxInFlight: OPEN_LOOP_MAX_IN_FLIGHT,
      payloadBytes: PAYLOAD_BYTES,
    };
  }

  /**
   * Once per run, before the first open-loop phase (with the lag workers running): BENCH_RATE/s for
   * BENCH_WARMUP_SECONDS, not measured, so JIT, connection pools and prepared statements are warm.
   */
  private async warmUp(): Promise<void> {
    await this.ensureWorker('lag');
    if (this.warmedUp) return;
    this.warmedUp = true;
    const child = await this.startOpenLoopSender();
    const { result: w } = await rpc<{ result: OpenLoopResult }>(
      child.proc,
      { type: 'run', run: this.openLoopRun(this.appKey, [EVENT_TYPES.warmup], RATE, WARMUP_SECONDS) },
      (WARMUP_SECONDS + 60) * 1000,
    );
    await child.stop(2000);
    const drained = await waitUntil('warm-up deliveries', DRAIN_WAIT_S * 1000, async () => {
      this.assertAlive();
      return (await this.sinkStats('warmup')).unique >= w.accepted;
    });
    this.report.phases.warmup = {
      what: `open loop ${RATE}/s for ${WARMUP_SECONDS} s before the open-loop phases (not measured)`,
      accepted: w.accepted,
      drained,
      responseMs: w.responseMs,
    };
    await this.analyze();
    log(`warm-up: ${w.accepted} events, drained: ${drained}`);
  }

  /**
   * Fires single POST /v1/events at `rate` for `seconds` (open loop, whatever the response times) and joins each
   * accepted event with its arrival at the sink: lag = arrival − the time its request was sent. A delivery that
   * has not arrived DRAIN_WAIT_S after the last send counts as infinitely late. Also: Redis commands/s over the
   * sending window, the lag split by the database's timestamps, CPU per process, WAL, worker counters.
   */
  private async measureOpenLoop(spec: OpenLoopSpec): Promise<Record<string, any>> {
    const child = await this.startOpenLoopSender();
    const cpu0 = await this.cpuStart(spec.name, spec.quietWait ?? true);
    const wal0 = await this.walLsn();
    const counters0 = await this.workerCounters();
    await spec.beforeSend?.();
    const redis0 = await this.redisCommands();
    const redisAt0 = wallNow();
    const { result } = await rpc<{ result: OpenLoopResult }>(
      child.proc,
      { type: 'run', run: this.openLoopRun(spec.key, spec.eventTypes, spec.rate, spec.seconds) },
      (spec.seconds + 60) * 1000,
    );
    const redis1 = await this.redisCommands();
    const redisWindowMs = wallNow() - redisAt0;
    const sendEnd = wallNow();
    await spec.afterSend?.();
    await child.stop(2000);
    const total = async () => {
      let n = 0;
      for (const l of spec.labels) n += (await this.sinkStats(l)).unique;
      return n;
    };
    const complete = await waitUntil(`${spec.name} deliveries`, DRAIN_WAIT_S * 1000, async () => {
      this.assertAlive();
      return (await total()) >= result.accepted;
    });
    const cpu = await this.cpuEnd(cpu0);
    const walBytes = await this.walSince(wal0);
    const counters = Bench.counterDelta(counters0, await this.workerCounters());
    const stats: SinkStats[] = [];
    for (const l of spec.labels) stats.push(await this.sinkStats(l, true));
    const arrivals = new Map(stats.flatMap((s) => s.arrivals ?? []));
    const fromSend: number[] = [];
    const fromCreated: number[] = [];
    for (const [id, sentAt, createdAt] of result.samples) {
      const at = arrivals.get(id);
      fromSend.push(at === undefined ? Infinity : at - sentAt);
      fromCreated.push(at === undefined ? Infinity : at - createdAt);
    }
    const breakdown = await this.lagBreakdown(spec.labels, result.samples, arrivals);
    const lastAt = Math.max(...stats.map((s) => s.lastAt ?? -Infinity));
    const { samples: _samples, ...sender } = result;
    const lag = summarize(fromSend);
    log(
      `${spec.name}: lag p50 ${fmt(lag.p50)} ms, p99 ${fmt(lag.p99)} ms, ${result.accepted} accepted ` +
        `(${fmt(result.achievedRate)}/s of ${spec.rate}/s)`,
    );
    return {
      rate: spec.rate,
      seconds: spec.seconds,
      eventTypes: spec.eventTypes,
      sender,
      sustained: sustained({ sender }, spec.rate),
      delivered: stats.reduce((n, s) => n + s.unique, 0),
      missing: result.accepted - fromSend.filter(Number.isFinite).length,
      duplicates: stats.reduce((n, s) => n + s.duplicates, 0),
      complete,
      drainAfterSendMs: Number.isFinite(lastAt) ? Math.round(lastAt - sendEnd) : null,
      lagFromSendMs: lag,
      lagFromCreatedAtMs: summarize(fromCreated),
      breakdownMs: breakdown,
      redis: {
        commands: redis1 - redis0,
        windowMs: Math.round(redisWindowMs),
        commandsPerSecond: Math.round(((redis1 - redis0) / redisWindowMs) * 1000),
      },
      walBytesPerEvent: Math.round(walBytes / Math.max(1, result.accepted)),
      workerCounters: counters,
      cpuCores: cpu,
    };
  }

  private async phaseLag(): Promise<void> {
    await this.warmUp();
    log(`lag: open loop ${RATE} events/s for ${SECONDS} s → lag`);
    const m = await this.measureOpenLoop({
      name: 'lag',
      key: this.appKey,
      eventTypes: [EVENT_TYPES.lag],
      labels: ['lag'],
      rate: RATE,
      seconds: SECONDS,
    });
    this.report.phases.lag = {
      what:
        `open-loop single POST /v1/events at ${RATE}/s for ${SECONDS} s to 1 healthy endpoint; ` +
        'lag = sink arrival − request send time (missing deliveries count as ∞)',
      ...m,
    };
  }

  /** The lag measurement at half the end-to-end rate measured by e2e in this run (else BENCH_LATENCY_RATE). */
  private async phaseLatency(): Promise<void> {
    const e2e = this.report.phases.e2e?.deliveriesPerSecond as number | null | undefined;
    const rate = e2e ? Math.max(1, Math.round(e2e / 2)) : LATENCY_RATE;
    const rateFrom = e2e
      ? `half the e2e rate of this run (${fmt(e2e)}/s)`
      : 'BENCH_LATENCY_RATE (e2e not run)';
    await this.warmUp();
    log(`latency: open loop ${rate} events/s (${rateFrom}) for ${LATENCY_SECONDS} s → latency`);
    const m = await this.measureOpenLoop({
      name: 'latency',
      key: this.appKey,
      eventTypes: [EVENT_TYPES.latency],
      labels: ['latency'],
      rate,
      seconds: LATENCY_SECONDS,
    });
    this.report.phases.latency = {
      what:
        `open-loop single POST /v1/events at ${rate}/s — ${rateFrom} — for ${LATENCY_SECONDS} s to 1 endpoint; ` +
        'latency = sink arrival − request send time',
      rateFrom,
      ...m,
    };
  }

  /**
   * Application A: a backlog of FAIRNESS_BACKLOG deliveries to its one endpoint, loaded through the batch API
   * while the worker runs (so it is being worked off). Then application B sends FAIRNESS_RATE events/s for
   * FAIRNESS_SECONDS to its own endpoint; B's lag is measured. A's endpoint is deleted afterwards (its leftover
   * backlog failed), so later phases don't inherit it.
   */
  private async phaseFairness(): Promise<void> {
    await this.warmUp();
    const keyA = await this.createApplication('bench-fairness-a');
    const keyB = await this.createApplication('bench-fairness-b');
    await this.createEndpoint(keyA, 'fairness-a', this.sinkUrl('fairness-a'), EVENT_TYPES.fairnessA);
    await this.createEndpoint(keyB, 'fairness-b', this.sinkUrl('fairness-b'), EVENT_TYPES.fairnessB);
    await this.waitQuiet('fairness');
    log(`fairness: loading A's backlog of ${FAIRNESS_BACKLOG} (worker running)`);
    const preloadMs = await this.preload(keyA, EVENT_TYPES.fairnessA, FAIRNESS_BACKLOG);
    await this.analyze();
    const a: Record<string, number | null> = {};
    let feeder: ReturnType<Bench['topUp']> | null = null;
    let fed = { added: 0, minPending: NaN };
    log(
      `fairness: A loaded in ${Math.round(preloadMs)} ms; B sends ${FAIRNESS_RATE}/s for ${FAIRNESS_SECONDS} s` +
        (FAIRNESS_TOPUP ? `; A kept at ${FAIRNESS_BACKLOG} pending` : ''),
    );
    const m = await this.measureOpenLoop({
      name: 'fairness',
      key: keyB,
      eventTypes: [EVENT_TYPES.fairnessB],
      labels: ['fairness-b'],
      rate: FAIRNESS_RATE,
      seconds: FAIRNESS_SECONDS,
      quietWait: false,
      beforeSend: async () => {
        a.pendingAtStart = await this.pendingCount('fairness-a');
        a.deliveredAtStart = (await this.sinkStats('fairness-a')).unique;
        a.startAt = wallNow();
        if (FAIRNESS_TOPUP)
          feeder = this.topUp(keyA, EVENT_TYPES.fairnessA, 'fairness-a', FAIRNESS_BACKLOG, FAIRNESS_BACKLOG);
      },
      afterSend: async () => {
        if (feeder) fed = await feeder.stop();
        a.pendingAtEnd = await this.pendingCount('fairness-a');
        a.deliveredAtEnd = (await this.sinkStats('fairness-a')).unique;
        a.endAt = wallNow();
      },
    });
    const windowMs = a.endAt! - a.startAt!;
    await this.deleteEndpoint(keyA, 'fairness-a');
    this.report.phases.fairness = {
      what:
        `application A: ${FAIRNESS_BACKLOG} deliveries loaded via /v1/events/batch while the worker runs` +
        (FAIRNESS_TOPUP ? ', topped up to that while B sends; ' : '; ') +
        `application B: open loop ${FAIRNESS_RATE}/s for ${FAIRNESS_SECONDS} s to its own endpoint; ` +
        "B's lag = sink arrival − request send time",
      applicationA: {
        backlog: FAIRNESS_BACKLOG,
        preloadMs: Math.round(preloadMs),
        pendingWhenBStarted: a.pendingAtStart,
        pendingWhenBStopped: a.pendingAtEnd,
        deliveredDuringB: a.deliveredAtEnd! - a.deliveredAtStart!,
        deliveriesPerSecondDuringB: Math.round(((a.deliveredAtEnd! - a.deliveredAtStart!) / windowMs) * 1000),
        toppedUp: FAIRNESS_TOPUP,
        addedDuringB: fed.added,
        lowestPendingDuringB: FAIRNESS_TOPUP ? fed.minPending : null,
        backlogLastedThroughB: (a.pendingAtEnd ?? 0) > 0 && (!FAIRNESS_TOPUP || fed.minPending > 0),
      },
      ...m,
    };
  }

  /**
   * Two healthy endpoints (one application) get BLACKHOLE_RATE events/s together (the events alternate between
   * their two types) for BLACKHOLE_SECONDS: first alone, then with a third endpoint of the same application that
   * points at the black hole (maxInFlight BLACKHOLE_MAX_IN_FLIGHT) and has BLACKHOLE_BACKLOG pending deliveries,
   * loaded just before. Compares the healthy lag and Redis commands/s of the two, and records the most requests
   * open at the black hole at once. The black-hole endpoint is deleted afterwards (its backlog failed).
   */
  private async phaseBlackhole(): Promise<void> {
    await this.warmUp();
    const key = await this.createApplication('bench-blackhole');
    const variants: Record<string, any> = {};
    const healthy: Record<string, string[]> = {};
    for (const variant of ['without', 'with']) {
      healthy[variant] = [];
      for (const n of [1, 2]) {
        const label = `blackhole-${variant}-${n}`;
        await this.createEndpoint(key, label, this.sinkUrl(label), EVENT_TYPES.healthy(variant, n));
        healthy[variant].push(label);
      }
    }
    await this.createEndpoint(
      key,
      'blackhole',
      `http://127.0.0.1:${this.blackholePort}/never`,
      EVENT_TYPES.hole,
      {
        maxInFlight: BLACKHOLE_MAX_IN_FLIGHT,
      },
    );
    const spec = (variant: string): OpenLoopSpec => ({
      name: `blackhole-${variant}`,
      key,
      eventTypes: [EVENT_TYPES.healthy(variant, 1), EVENT_TYPES.healthy(variant, 2)],
      labels: healthy[variant],
      rate: BLACKHOLE_RATE,
      seconds: BLACKHOLE_SECONDS,
    });
    log(
      `blackhole: ${BLACKHOLE_RATE} events/s to 2 healthy endpoints for ${BLACKHOLE_SECONDS} s, no black hole`,
    );
    variants.without = await this.measureOpenLoop(spec('without'));

    await this.waitQuiet('blackhole-with');
    const hole0 = (
      await rpc<{ blackhole: BlackholeStats }>(this.sink!.proc, { type: 'blackholeReset' }, 5000)
    ).blackhole;
    log(
      `blackhole: loading ${BLACKHOLE_BACKLOG} deliveries to the black hole (maxInFlight ${BLACKHOLE_MAX_IN_FLIGHT})`,
    );
    const preloadMs = await this.preload(key, EVENT_TYPES.hole, BLACKHOLE_BACKLOG);
    await this.analyze();
    const pendingAtStart = await this.pendingCount('blackhole');
    log(
      `blackhole: ${BLACKHOLE_RATE} events/s to 2 healthy endpoints for ${BLACKHOLE_SECONDS} s, with the black hole`,
    );
    variants.with = await this.measureOpenLoop({ ...spec('with'), quietWait: false });
    const hole1 = (await this.sinkStats('blackhole')).blackhole;
    const holeStatuses = await this.deliveryStatuses('blackhole');
    const holeAttempts = await withPg(this.dbUrl, async (c) => {
      const r = await c.query<{ outcome: string; error_class: string | null; n: string }>(
        `SELECT outcome::text, error_class, count(*) AS n FROM attempts WHERE endpoint_id = $1 GROUP BY 1, 2`,
        [this.endpoints.blackhole],
      );
      return Object.fromEntries(r.rows.map((x) => [`${x.outcome}/${x.error_class ?? '-'}`, Number(x.n)]));
    });
    const holeCircuit = await withPg(this.dbUrl, async (c) => {
      const r = await c.query<Record<string, unknown>>(
        `SELECT * FROM endpoint_states WHERE endpoint_id = $1`,
        [this.endpoints.blackhole],
      );
      return r.rows[0] ?? null;
    });
    await this.deleteEndpoint(key, 'blackhole');

    const perSecond = (v: string) => variants[v].redis.commandsPerSecond as number;
    const redisRatio = perSecond('without') > 0 ? perSecond('with') / perSecond('without') : null;
    this.report.phases.blackhole = {
      what:
        `2 healthy endpoints of one application, ${BLACKHOLE_RATE} events/s together for ${BLACKHOLE_SECONDS} s, ` +
        `without and then with a third endpoint (same application) that never answers, maxInFlight ` +
        `${BLACKHOLE_MAX_IN_FLIGHT}, with ${BLACKHOLE_BACKLOG} pending deliveries; lag = sink arrival − request ` +
        'send time; Redis commands/s over each sending window',
      blackhole: {
        maxInFlight: BLACKHOLE_MAX_IN_FLIGHT,
        backlog: BLACKHOLE_BACKLOG,
        preloadMs: Math.round(preloadMs),
        pendingWhenSendingStarted: pendingAtStart,
        statusesAtEnd: holeStatuses,
        attemptsAtEnd: holeAttempts,
        endpointStateAtEnd: holeCircuit,
        connections: hole1.connections - hole0.connections,
        requests: hole1.requests - hole0.requests,
        bytes: hole1.bytes - hole0.bytes,
        maxOpenRequests: hole1.maxOpenRequests,
        openRequestsAtEnd: hole1.openRequests,
      },
      redisCommandsPerSecond: {
        without: perSecond('without'),
        with: perSecond('with'),
        ratio: redisRatio === null ? null : Math.round(redisRatio * 1000) / 1000,
      },
      variants,
    };
    log(
      `blackhole: max ${hole1.maxOpenRequests} open requests at the black hole (maxInFlight ` +
        `${BLACKHOLE_MAX_IN_FLIGHT}); Redis ${fmt(perSecond('with'))} vs ${fmt(perSecond('without'))} commands/s`,
    );
  }

  /**
   * Where each event's lag went, from the database's timestamps (ms precision): request sent → event created_at
   * (API, until the insert transaction began) → attempt started_at (the dispatcher's release, BullMQ hand-off,
   * pick-up, claim) → sink arrival (sign + HTTP).
   */
  private async lagBreakdown(
    labels: string[],
    samples: [string, number, number][],
    arrivals: Map<string, number>,
  ): Promise<Record<string, Summary>> {
    const rows = await withPg(this.dbUrl, async (c) => {
      const r = await c.query<{ event_id: string; started: number | null }>(
        `SELECT d.event_id, (extract(epoch FROM a.started_at) * 1000)::float8 AS started
         FROM deliveries d
         LEFT JOIN attempts a ON a.delivery_id = d.id AND a.number = 1
         WHERE d.endpoint_id = ANY($1::text[])`,
        [labels.map((l) => this.endpoints[l])],
      );
      return new Map(r.rows.map((x) => [x.event_id, x]));
    });
    const api: number[] = [];
    const queue: number[] = [];
    const send: number[] = [];
    for (const [id, sentAt, createdAt] of samples) {
      const row = rows.get(id);
      const at = arrivals.get(id);
      api.push(createdAt - sentAt);
      if (row?.started != null) queue.push(row.started - createdAt);
      if (row?.started != null && at !== undefined) send.push(at - row.started);
    }
    return {
      'sent→createdAt (API)': summarize(api),
      'createdAt→attempt started (dispatcher + BullMQ + claim)': summarize(queue),
      'attempt started→sink arrival (sign + HTTP)': summarize(send),
    };
  }

  // ---- cleanup ------------------------------------------------------------------------------------------------

  cleanup(): Promise<void> {
    this.cleaned ??= this.doCleanup();
    return this.cleaned;
  }

  private noteErrors(c: Child | null): void {
    if (!c || c.errorLines === 0) return;
    const errs = (this.report.processErrors ??= {});
    errs[c.name] = {
      lines: (errs[c.name]?.lines ?? 0) + c.errorLines,
      first: errs[c.name]?.first ?? c.firstError,
    };
  }

  private async doCleanup(): Promise<void> {
    for (const c of [this.redisServer, this.api, this.sink, ...this.workers, ...this.loadgens])
      this.noteErrors(c);
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        const msg = `cleanup: ${what}: ${err instanceof Error ? err.message : String(err)}`;
        this.report.errors.push(msg);
        console.error(msg);
      }
    };
    this.cpu.stop();
    await this.walHolder?.end().catch(() => undefined);
    for (const c of this.loadgens) await step('load generator', () => c.stop(2000));
    // SIGTERM first: a profiled process writes its profile on a clean exit.
    await step('worker', () => this.stopWorker());
    await step('api', async () => this.api?.stop(8000));
    await step('sink', async () => {
      if (this.sink?.running) {
        await rpc(this.sink.proc, { type: 'close' }, 2000).catch(() => undefined);
        await this.sink.stop(2000);
      }
    });
    if (this.dbCreated) {
      await step('drop database', () =>
        withPg(PG_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS "${this.dbName}" WITH (FORCE)`)),
      );
    }
    this.redis?.disconnect();
    if (this.redisServer) {
      // Our own server: nothing else uses it, it goes with its data.
      await step('redis-server', () => this.redisServer!.stop(5000));
      return;
    }
    if (!this.redisUrl) return;
    await step('redis keys', async () => {
      const redis = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      try {
        let cursor = '0';
        let deleted = 0;
        for (let i = 0; i < 100_000; i++) {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
          if (keys.length) deleted += await redis.unlink(...keys);
          cursor = next;
          if (cursor === '0') break;
        }
        this.report.settings.redisKeysDeleted = deleted;
      } finally {
        redis.disconnect();
      }
    });
  }

  // ---- results --------------------------------------------------------------------------------------------------

  evaluate(): void {
    const p = this.report.phases;
    const t: Target[] = [];
    const raw = p.raw?.perSecond as number | undefined;
    const lagTarget = (name: string, phase: string, x: any, limitMs: number, extra = '') => {
      const lag = x.lagFromSendMs as Summary;
      t.push({
        name,
        phases: [phase],
        target: `p99 ≤ ${fmt(limitMs)} ms`,
        measured:
          `p99 ${fmt(lag.p99)} ms (p50 ${fmt(lag.p50)} ms), ${fmt(x.sender.achievedRate)} events/s accepted` +
          (x.sustained ? '' : ' — offered rate NOT sustained') +
          extra,
        pass: Boolean(x.sustained) && lag.p99 !== null && lag.p99 <= limitMs,
      });
    };

    if (p.filter) {
      for (const [label, x] of filterModes(p.filter)) {
        t.push({
          name: `ingest (${label}) with 10-clause filters on ${FILTER_ENDPOINTS} endpoints ≥ ${TARGET.filterIngestRatio} × without`,
          phases: ['filter'],
          target: `ratio ≥ ${TARGET.filterIngestRatio}`,
          measured: `${fmt(x.filtered)} / ${fmt(x.none)} events/s = ${fmt(x.ratio, 2)}`,
          pass: x.ratio !== null && x.ratio >= TARGET.filterIngestRatio,
        });
      }
    }

    const e2e = p.e2e?.deliveriesPerSecond as number | null | undefined;
    if (e2e && raw) {
      const ratio = e2e / raw;
      t.push({
        name: `end-to-end ≥ ${TARGET.e2eToRaw} × raw`,
        phases: ['e2e', 'raw'],
        target: `≥ ${fmt(TARGET.e2eToRaw * raw)} deliveries/s`,
        measured: `${fmt(e2e)} / ${fmt(raw)} = ${ratio.toFixed(2)} × raw${p.e2e.complete ? '' : ' (backlog not drained)'}`,
        pass: ratio >= TARGET.e2eToRaw && Boolean(p.e2e.complete),
      });
      p.e2e.ratioToRaw = round2(ratio);
    }

    if (p.fanout) {
      const rate = p.fanout.deliveriesPerSecond as number | null;
      const incomplete = p.fanout.complete ? '' : ` (${p.fanout.unique} of ${p.fanout.expected} delivered)`;
      if (raw && rate !== null) {
        const ratio = rate / raw;
        p.fanout.ratioToRaw = round2(ratio);
        t.push({
          name: `fan-out ≥ ${TARGET.fanoutToRaw} × raw`,
          phases: ['fanout', 'raw'],
          target: `≥ ${fmt(TARGET.fanoutToRaw * raw)} deliveries/s`,
          measured: `${fmt(rate)} / ${fmt(raw)} = ${ratio.toFixed(2)} × raw${incomplete}`,
          pass: ratio >= TARGET.fanoutToRaw && Boolean(p.fanout.complete),
        });
      } else {
        t.push({
          name: `fan-out ≥ ${TARGET.fanoutToRaw} × raw`,
          phases: ['fanout'],
          target: `≥ ${TARGET.fanoutToRaw} × raw`,
          measured: `${fmt(rate)} deliveries/s${incomplete} — raw not run: no ratio`,
          pass: null,
        });
      }
    }

    if (p.scaleout) {
      const v = p.scaleout.variants;
      const ratio = p.scaleout.ratio as number | null;
      const complete = Object.values(v).every((x: any) => x.complete);
      t.push({
        name: `scaleout: ${SCALEOUT_WORKERS} worker processes ≥ ${TARGET.scaleoutRatio} × one`,
        phases: ['scaleout'],
        target: `ratio ≥ ${TARGET.scaleoutRatio}`,
        measured:
          `${fmt(v[String(SCALEOUT_WORKERS)].deliveriesPerSecond)} / ${fmt(v['1'].deliveriesPerSecond)} ` +
          `deliveries/s = ${fmt(ratio, 2)}${complete ? '' : ' (a backlog not drained)'}`,
        pass: ratio !== null && ratio >= TARGET.scaleoutRatio && complete,
      });
      t.push({
        name: 'no delivery with two succeeded attempts (scaleout)',
        phases: ['scaleout'],
        target: '0',
        measured: String(p.scaleout.deliveriesWithTwoSucceededAttempts),
        pass: p.scaleout.deliveriesWithTwoSucceededAttempts === 0,
        loadIndependent: true,
      });
    }

    if (p.ordered) {
      const v = p.ordered.variants;
      const ratio = p.ordered.ratio as number | null;
      const complete = Object.values(v).every((x: any) => x.complete);
      t.push({
        name:
          `ordered: ${ORDERED_KEYS} partition keys ≥ ${TARGET.orderedRatio} × unordered at maxInFlight ` +
          `${ORDERED_KEYS}`,
        phases: ['ordered'],
        target: `ratio ≥ ${TARGET.orderedRatio}`,
        measured:
          `${fmt(v[`keys${ORDERED_KEYS}`].deliveriesPerSecond)} / ` +
          `${fmt(v[`unordered-cap${ORDERED_KEYS}`].deliveriesPerSecond)} deliveries/s = ${fmt(ratio, 2)} ` +
          `(× ${fmt(p.ordered.ratioToDefaultCap, 2)} of unordered at the default maxInFlight)` +
          `${complete ? '' : ' (a backlog not drained)'}`,
        pass: ratio !== null && ratio >= TARGET.orderedRatio && complete,
      });
    }

    if (p.lag)
      lagTarget(`lag p99 ≤ ${TARGET.lagP99Ms} ms at ${RATE} events/s`, 'lag', p.lag, TARGET.lagP99Ms);
    if (p.latency) {
      lagTarget(
        `latency p99 ≤ ${TARGET.latencyP99Ms} ms at ${fmt(p.latency.rate)} events/s`,
        'latency',
        p.latency,
        TARGET.latencyP99Ms,
        ` (rate: ${p.latency.rateFrom})`,
      );
    }
    if (p.fairness) {
      const a = p.fairness.applicationA;
      lagTarget(
        `fairness: B's p99 ≤ ${TARGET.fairnessP99Ms} ms behind A's backlog of ${fmt(a.backlog)}`,
        'fairness',
        p.fairness,
        TARGET.fairnessP99Ms,
        `; A: ${fmt(a.pendingWhenBStarted)} → ${fmt(a.pendingWhenBStopped)} pending` +
          (a.toppedUp ? ` (lowest ${fmt(a.lowestPendingDuringB)}, ${fmt(a.addedDuringB)} added)` : '') +
          `, ${fmt(a.deliveriesPerSecondDuringB)} deliveries/s meanwhile`,
      );
      if (!a.backlogLastedThroughB) {
        const last = t[t.length - 1];
        last.measured += " — not judged: A's backlog ran out before B stopped (raise BENCH_FAIRNESS_BACKLOG)";
        last.passIfQuiet = last.pass ?? undefined;
        last.pass = null;
      }
    }
    if (p.blackhole) {
      const b = p.blackhole;
      lagTarget(
        `blackhole: healthy p99 ≤ ${TARGET.blackholeHealthyP99Ms} ms`,
        'blackhole',
        b.variants.with,
        TARGET.blackholeHealthyP99Ms,
        `; without the black hole p99 ${fmt(b.variants.without.lagFromSendMs.p99)} ms`,
      );
      t.push({
        name: 'blackhole: open requests at the black hole ≤ its maxInFlight',
        phases: ['blackhole'],
        target: `≤ ${b.blackhole.maxInFlight}`,
        measured:
          `at most ${b.blackhole.maxOpenRequests} open at once (${b.blackhole.requests} requests, ` +
          `${b.blackhole.connections} connections in the phase)`,
        pass: b.blackhole.maxOpenRequests <= b.blackhole.maxInFlight,
        loadIndependent: true,
      });
      const r = b.redisCommandsPerSecond;
      const bothSustained = Boolean(b.variants.with.sustained && b.variants.without.sustained);
      const tol = TARGET.blackholeRedisTolerance;
      t.push({
        name: `blackhole: Redis commands/s within ±${tol * 100} % of the run without it`,
        phases: ['blackhole'],
        target: `${fmt(r.without * (1 - tol))}–${fmt(r.without * (1 + tol))} commands/s`,
        measured:
          `${fmt(r.with)} vs ${fmt(r.without)} commands/s = ${r.ratio === null ? 'n/a' : r.ratio.toFixed(3)}` +
          (this.redisMode === 'private' ? '' : ` (Redis ${this.redisMode}: other clients counted too)`) +
          (bothSustained ? '' : ' — offered rate NOT sustained in both variants: not comparable'),
        pass: bothSustained && r.ratio !== null && Math.abs(r.ratio - 1) <= tol,
      });
    }

    // A timing measured while other processes took CPU is not judged either way.
    for (const target of t) {
      if (target.loadIndependent || target.pass === null) continue;
      const disturbed = target.phases.filter((n) => otherCores(p[n]) > OTHER_LOAD_WARN);
      if (disturbed.length) {
        target.measured += ` — not judged: machine busy during ${disturbed.join(', ')}`;
        target.passIfQuiet = target.pass;
        target.pass = null;
      }
    }
    this.report.targets = t;
  }

  print(): string {
    const p = this.report.phases;
    const rows: [string, string, string][] = [];
    const lagRow = (name: string, x: any) => {
      if (!x) return;
      const l = x.lagFromSendMs as Summary;
      const c = x.lagFromCreatedAtMs as Summary;
      rows.push([
        name,
        `p50 ${fmt(l.p50)} / p99 ${fmt(l.p99)} / max ${fmt(l.max)} ms`,
        `from createdAt p99 ${fmt(c.p99)} ms; ${fmt(x.sender.achievedRate)}/s accepted, ${x.sender.skipped} ` +
          `skipped, ${x.missing} missing; Redis ${fmt(x.redis?.commandsPerSecond)} commands/s`,
      ]);
    };
    if (p.ingest) {
      const s = p.ingest.single;
      const b = p.ingest.batch100;
      rows.push([
        'ingest POST /v1/events',
        s ? `${fmt(s.eventsPerSecond)} events/s` : 'n/a',
        s ? `p50 ${s.latencyP50Ms} / p99 ${s.latencyP99Ms} ms, ${s.statuses}` : '',
      ]);
      rows.push([
        'ingest /v1/events/batch ×100',
        b ? `${fmt(b.eventsPerSecond)} events/s` : 'n/a',
        b ? `${fmt(b.requestsPerSecond)} req/s, p50 ${b.latencyP50Ms} / p99 ${b.latencyP99Ms} ms` : '',
      ]);
      rows.push([
        'ingest API CPU per event',
        p.ingest.apiCpuMsPerEvent === null ? 'n/a' : `${p.ingest.apiCpuMsPerEvent} ms`,
        `over the ingest runs (${INGEST_PHASES.join(', ')}); steadier than events/s on a shared machine`,
      ]);
    }
    if (p.filter) {
      for (const [label, x] of filterModes(p.filter)) {
        rows.push([
          `filter: ingest ${label}, 10-clause filters`,
          `${fmt(x.filtered)} vs ${fmt(x.none)} events/s`,
          `ratio ${fmt(x.ratio, 2)} (${FILTER_ENDPOINTS} endpoints each, mean of 2 runs per variant)`,
        ]);
      }
      const c = p.filter.apiCpuMsPerEvent;
      rows.push([
        'filter: API CPU per event',
        `${fmt(c.filtered, 3)} vs ${fmt(c.none, 3)} ms`,
        'with filters vs without, over all runs of each (steadier than events/s on a shared machine)',
      ]);
    }
    if (p.e2e) {
      rows.push([
        'end-to-end deliveries/s',
        `${fmt(p.e2e.deliveriesPerSecond)} /s`,
        `${p.e2e.unique} in ${fmt(p.e2e.firstToLastMs)} ms first→last arrival${p.e2e.complete ? '' : ' (INCOMPLETE)'}`,
      ]);
      const mine = p.e2e.walOfThisDatabasePerDelivery;
      rows.push([
        'e2e WAL per delivery',
        `${fmt(p.e2e.walBytesPerDelivery)} B`,
        mine?.bytes !== undefined
          ? `cluster-wide; this database ${fmt(mine.bytes)} B (${fmt(mine.bytesWithoutFpi)} B without full-page images)`
          : 'cluster-wide (others’ writes included)',
      ]);
    }
    if (p.fanout) {
      rows.push([
        `fan-out ${FANOUT_EVENTS} × ${FANOUT_ENDPOINTS} endpoints`,
        `${fmt(p.fanout.deliveriesPerSecond)} /s`,
        `${p.fanout.unique} in ${fmt(p.fanout.firstRequestToLastArrivalMs)} ms first request→last arrival` +
          (p.fanout.complete ? '' : ' (INCOMPLETE)'),
      ]);
    }
    if (p.raw) {
      rows.push([
        'raw signed POSTs/s',
        `${fmt(p.raw.perSecond)} /s`,
        `${RAW_CONNECTIONS} connections, latency p99 ${fmt(p.raw.latencyMs.p99)} ms`,
      ]);
    }
    if (p.e2e?.ratioToRaw !== undefined) rows.push(['end-to-end / raw', `${p.e2e.ratioToRaw}`, '']);
    if (p.fanout?.ratioToRaw !== undefined) rows.push(['fan-out / raw', `${p.fanout.ratioToRaw}`, '']);
    if (p.scaleout) {
      for (const [n, v] of Object.entries(p.scaleout.variants as Record<string, any>)) {
        rows.push([
          `scaleout, ${n} worker process(es)`,
          `${fmt(v.deliveriesPerSecond)} /s`,
          `${v.unique} in ${fmt(v.firstToLastMs)} ms first→last arrival${v.complete ? '' : ' (INCOMPLETE)'}`,
        ]);
      }
      rows.push([
        `scaleout ${SCALEOUT_WORKERS} / 1`,
        fmt(p.scaleout.ratio, 2),
        `deliveries with two succeeded attempts: ${p.scaleout.deliveriesWithTwoSucceededAttempts}`,
      ]);
    }
    lagRow(`lag @ ${RATE}/s`, p.lag);
    if (p.latency) lagRow(`latency @ ${fmt(p.latency.rate)}/s`, p.latency);
    if (p.fairness) lagRow(`fairness: B @ ${FAIRNESS_RATE}/s`, p.fairness);
    if (p.blackhole) {
      lagRow(`blackhole: healthy @ ${BLACKHOLE_RATE}/s, none`, p.blackhole.variants.without);
      lagRow(`blackhole: healthy @ ${BLACKHOLE_RATE}/s + hole`, p.blackhole.variants.with);
      rows.push([
        'blackhole: open requests at it',
        `max ${p.blackhole.blackhole.maxOpenRequests}`,
        `maxInFlight ${p.blackhole.blackhole.maxInFlight}, backlog ${fmt(p.blackhole.blackhole.backlog)}`,
      ]);
    }
    const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), 8));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join(' | ');
    const out = [
      line(['measure', 'result', 'notes']),
      w.map((n) => '-'.repeat(n)).join('-|-'),
      ...rows.map(line),
    ];
    out.push('');
    for (const t of this.report.targets) {
      const verdict =
        t.pass === null
          ? t.passIfQuiet === undefined
            ? 'N/A '
            : `N/A (${t.passIfQuiet ? 'PASS' : 'FAIL'} on these figures)`
          : t.pass
            ? 'PASS'
            : 'FAIL';
      out.push(`${verdict}  ${t.name}: ${t.measured} (target ${t.target})`);
    }
    const noisy = Object.entries(p).filter(([, x]) => otherCores(x) > OTHER_LOAD_WARN);
    if (noisy.length) {
      out.push('');
      for (const [name, x] of noisy) {
        out.push(
          `WARNING  ${name}: processes outside the bench used up to ${otherCores(x)} cores meanwhile; its ` +
            'figures are not representative (run again on a quiet machine)',
        );
      }
    }
    return out.join('\n');
  }
}

/** Profiles summarised, targets evaluated, table printed, JSON written. */
function finishReport(bench: Bench): void {
  bench.report.finishedAt = new Date().toISOString();
  if (PROFILE.size) {
    const dir = join(ROOT, 'artifacts', `prof-${bench.stamp}`);
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
    bench.report.profiles = {};
    for (const f of files) {
      const text = summarizeProfile(join(dir, f), 30);
      writeFileSync(join(dir, `${f}.txt`), text + '\n');
      bench.report.profiles[f] = text.split('\n');
      console.log(
        `\n${text.split('\n\n').slice(0, 2).join('\n')}\n(full: artifacts/prof-${bench.stamp}/${f}.txt)`,
      );
    }
  }
  bench.evaluate();
  console.log(`\n${bench.print()}\n`);
  const dir = join(ROOT, 'artifacts');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${bench.stamp}.json`);
  // JSON has no Infinity: a percentile that fell on an undelivered event is written as "never".
  const json = JSON.stringify(bench.report, (_k, v: unknown) => (v === Infinity ? 'never' : v), 2);
  writeFileSync(file, json + '\n');
  console.log(`written ${file}`);
}

async function main(): Promise<void> {
  for (const f of ['apps/api/src/main.js', 'apps/worker/src/main.js']) {
    if (!existsSync(join(DIST, f))) throw new Error(`dist/${f} missing: run npm run build first`);
  }
  const bench = new Bench();
  let finishing = false;
  /** Cleans up, reports what was measured so far, exits. Runs once, whichever way the run ends. */
  const finish = async (code: number) => {
    if (finishing) return;
    finishing = true;
    clearTimeout(deadline);
    log('cleaning up (children, database, Redis keys)');
    await bench.cleanup();
    try {
      finishReport(bench);
    } catch (err) {
      console.error(`bench: could not write the report: ${String(err)}`);
    }
    process.exit(code);
  };
  const deadline = setTimeout(() => {
    console.error(`bench: deadline of ${DEADLINE_S} s reached`);
    bench.report.errors.push(`deadline of ${DEADLINE_S} s reached: phases not finished are missing`);
    void finish(2);
  }, DEADLINE_S * 1000);
  // A closed stdout (`npm run bench | head`) or any stray error must not skip the cleanup.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const crash = (err: unknown) => {
    bench.report.errors.push(
      `unexpected: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    void finish(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`bench: ${sig}`);
      bench.report.errors.push(`interrupted by ${sig}`);
      void finish(130);
    });
  }
  try {
    await bench.run();
  } catch (err) {
    // After the deadline or a signal the cleanup kills the children under the running phase: not a new error.
    if (finishing) return;
    const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
    bench.report.errors.push(msg);
    console.error(`bench failed: ${msg}`);
    await finish(1);
  }
  await finish(0);
}

void main();

/** The filter phase's measured ingest modes, with their labels. */
function filterModes(
  phase: any,
): [string, { none: number | null; filtered: number | null; ratio: number | null }][] {
  return (
    [
      ['single', phase.single],
      ['batch ×100', phase.batch100],
    ] as [string, { none: number | null; filtered: number | null; ratio: number | null }][]
  ).filter(([, x]) => x.none !== null || x.filtered !== null);
}

/** Events the ingest load generator had accepted (202s of single requests + 100 × 202s of batches). */
function accepted(out: string): number {
  let n = 0;
  for (const m of out.matchAll(/(single|batch): .*?statuses 202×(\d+)/g))
    n += Number(m[2]) * (m[1] === 'batch' ? 100 : 1);
  return n;
}
