/**
 * Ingestion benchmark: POST /v1/events (one event per request) and POST /v1/events/batch (BATCH_SIZE events per
 * request) against a running API, with autocannon. Starts nothing itself.
 *
 *   BASE_URL        API to load (default http://127.0.0.1:3900)
 *   APP_KEY         application API key to send events with; or
 *   ADMIN_API_KEY   to create a fresh application with two endpoints subscribed to the benchmark's event type
 *   DURATION        seconds per phase (default 10)
 *   CONNECTIONS     concurrent connections (default 32)
 *   BATCH_SIZE      events per batch request (default 100)
 *   PAYLOAD_BYTES   approximate size of each payload (default 256)
 *   PHASES          comma-separated: single,batch (default both)
 *
 * Every event gets a unique payload and no idempotency key. Run: node dist/bench/ingest.bench.js
 */
import { createRequire } from 'node:module';

interface Histogram {
  average: number;
  p50: number;
  p99: number;
  max: number;
}

interface AutocannonResult {
  duration: number;
  latency: Histogram;
  requests: Histogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  method: string;
  headers: Record<string, string>;
  requests: { setupRequest: (req: AutocannonRequest) => AutocannonRequest }[];
}

type Autocannon = (opts: AutocannonOptions) => Promise<AutocannonResult>;

// autocannon ships no type declarations: load it untyped and describe the part used above.
const autocannon = createRequire(__filename)('autocannon') as Autocannon;

const BASE_URL = (process.env.BASE_URL ?? 'http://127.0.0.1:3900').replace(/\/+$/, '');
const DURATION = positiveInt('DURATION', 10);
const CONNECTIONS = positiveInt('CONNECTIONS', 32);
const BATCH_SIZE = positiveInt('BATCH_SIZE', 100);
const PAYLOAD_BYTES = positiveInt('PAYLOAD_BYTES', 256);
const PHASES = (process.env.PHASES ?? 'single,batch').split(',').map((s) => s.trim());
const EVENT_TYPE = 'bench.ingest';

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

async function call(method: string, path: string, key: string, body?: unknown): Promise<any> {
  const res = await fetch(BASE_URL + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** An application key: APP_KEY as given, or a new application (with two matching endpoints) via ADMIN_API_KEY. */
async function applicationKey(): Promise<string> {
  if (process.env.APP_KEY) return process.env.APP_KEY;
  const admin = process.env.ADMIN_API_KEY;
  if (!admin) throw new Error('set APP_KEY (an application API key) or ADMIN_API_KEY');
  const app = await call('POST', '/v1/applications', admin, {
    name: `ingest bench ${new Date().toISOString()}`,
  });
  const key = app.apiKey.key as string;
  await call('POST', '/v1/endpoints', key, { url: 'https://example.com/bench/all' });
  await call('POST', '/v1/endpoints', key, {
    url: 'https://example.com/bench/typed',
    eventTypes: [EVENT_TYPE],
  });
  console.log(`created application ${app.id} with 2 endpoints matching "${EVENT_TYPE}"`);
  return key;
}

let seq = 0;
const filler = 'x'.repeat(Math.max(0, PAYLOAD_BYTES - 120));
function payload(): Record<string, unknown> {
  seq += 1;
  return {
    seq,
    at: Date.now(),
    nonce: Math.random().toString(36).slice(2),
    order: { id: `o_${seq}`, filler },
  };
}

async function phase(
  name: string,
  path: string,
  key: string,
  eventsPerRequest: number,
  body: () => unknown,
): Promise<void> {
  const result = await autocannon({
    url: BASE_URL + path,
    connections: CONNECTIONS,
    duration: DURATION,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify(body()) }) }],
  });
  const codes = Object.entries(result.statusCodeStats)
    .map(([code, s]) => `${code}×${s.count}`)
    .join(' ');
  const accepted = result.statusCodeStats['202']?.count ?? 0;
  const eventsPerSecond = (accepted * eventsPerRequest) / result.duration;
  console.log(
    [
      `${name}: ${eventsPerSecond.toFixed(0)} events/s`,
      `(${(accepted / result.duration).toFixed(0)} requests/s, ${eventsPerRequest} event(s) each)`,
      `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
      `| ${DURATION}s, ${CONNECTIONS} connections, statuses ${codes || 'none'}`,
      `errors ${result.errors}, timeouts ${result.timeouts}`,
    ].join(' '),
  );
}

async function main(): Promise<void> {
  const key = await applicationKey();
  // One event through first: fails fast (with the API's message) if the key or the route is wrong.
  const probe = await call('POST', '/v1/events', key, { eventType: EVENT_TYPE, payload: payload() });
  console.log(`probe event ${probe.id}: ${probe.deliveryCount} deliveries per event`);
  if (PHASES.includes('single')) {
    await phase('single', '/v1/events', key, 1, () => ({ eventType: EVENT_TYPE, payload: payload() }));
  }
  if (PHASES.includes('batch')) {
    await phase('batch', '/v1/events/batch', key, BATCH_SIZE, () => ({
      events: Array.from({ length: BATCH_SIZE }, () => ({ eventType: EVENT_TYPE, payload: payload() })),
    }));
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
