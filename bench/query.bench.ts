/**
 * Query benchmark: fills a scratch database with about ATTEMPTS attempts (default 1,000,000) — 5 applications of
 * skewed size, 200 endpoints with skewed traffic, 30 days — and times every filter of listDeliveries,
 * listAttempts, getDelivery and endpointStats through the real services (DeliveriesQueryService over
 * PrismaService, exactly as the API runs them), RUNS times each (p50 and max, after one warm-up), and shows the
 * indexes each one used (EXPLAIN ANALYZE of the exact SQL the service sent). Finally one recover() of a 3-day
 * window on the busiest endpoint.
 *
 *   BENCH_DATABASE_URL  scratch database (default postgresql://postgres@127.0.0.1:5432/tern_bench_query); it is
 *                       created and migrated if needed, and its deliveries/attempts/events are REPLACED
 *   ATTEMPTS            attempts to generate (default 1000000)
 *   RUNS                timed runs per query (default 10)
 *   SKIP_FILL=1         reuse the data already there
 *
 * Run: npm run build && node dist/bench/query.bench.js   (prints a markdown table; docs/query-performance.md)
 */
import 'reflect-metadata';
import { PrismaPg } from '@prisma/adapter-pg';
import { AppConfig } from '@tern/config';
import {
  AttemptFilter,
  DeliveriesQueryService,
  DeliveriesRepository,
  DeliveryActionsService,
  DeliveryFilter,
  QueryScope,
} from '@tern/core';
import { ensureDatabase, migrate, PrismaService } from '@tern/database';
import { PrismaClient } from '@tern/database/generated/prisma/client';
import { Client } from 'pg';

const DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tern_bench_query';
const ATTEMPTS = positiveInt('ATTEMPTS', 1_000_000);
const RUNS = positiveInt('RUNS', 10);
const LIMIT = 50;

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

const TABLES = ['events', 'deliveries', 'attempts'];

/** Generates the data set in SQL (generate_series), with the secondary indexes dropped and rebuilt after. */
async function fill(db: Client): Promise<void> {
  const started = Date.now();
  const log = (what: string) => console.log(`  ${((Date.now() - started) / 1000).toFixed(1)} s  ${what}`);
  await db.query(
    'TRUNCATE partition_blocks, attempts, deliveries, events, endpoint_states, endpoint_secrets, endpoints, api_keys, portal_link_uses, applications',
  );
  const defs = await db.query<{ name: string; def: string }>(
    `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
     WHERE i.schemaname = 'public' AND i.tablename = ANY ($1)
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    [TABLES],
  );
  for (const d of defs.rows) await db.query(`DROP INDEX "${d.name}"`);
  await db.query(`SET session_replication_role = replica`); // no FK triggers during the load
  await db.query(`SET synchronous_commit = off`);
  const events = Math.ceil(ATTEMPTS / 2.3);

  await db.query(`
    INSERT INTO applications (id, name, created_at, updated_at)
    SELECT 'app_' || lpad(to_hex(i), 28, '0'), 'bench app ' || i, now() - interval '90 days', now() - interval '90 days'
    FROM generate_series(1, 5) i`);
  // 40 endpoints per application: endpoint k belongs to application ((k - 1) % 5) + 1.
  await db.query(`
    INSERT INTO endpoints (id, application_id, url, created_at, updated_at)
    SELECT 'ep_' || lpad(to_hex(k), 28, '0'), 'app_' || lpad(to_hex(((k - 1) % 5) + 1), 28, '0'),
           'https://bench-' || k || '.example.com/hook', now() - interval '90 days', now() - interval '90 days'
    FROM generate_series(1, 200) k`);
  log('applications and endpoints');

  // Events: applications weighted 40/25/15/12/8 %, 20 event types per application (skewed), uniform over 30 days.
  await db.query(`
    CREATE TEMP TABLE ev AS
    SELECT i, app, 'type.' || floor(20 * random() ^ 2)::int AS event_type, created_at,
           'evt_' || lpad(to_hex((extract(epoch FROM created_at) * 1000)::bigint), 12, '0')
                  || lpad(to_hex(i), 16, '0') AS id
    FROM (SELECT i,
                 CASE WHEN r < 0.40 THEN 1 WHEN r < 0.65 THEN 2 WHEN r < 0.80 THEN 3 WHEN r < 0.92 THEN 4 ELSE 5 END
                   AS app,
                 date_trunc('milliseconds', now() - random() * interval '30 days') AS created_at
          FROM (SELECT i, random() AS r FROM generate_series(1, ${events}) i) s) t`);
  await db.query(`
    INSERT INTO events (id, application_id, event_type, payload, created_at)
    SELECT id, 'app_' || lpad(to_hex(app), 28, '0'), event_type,
           jsonb_build_object('orderId', i, 'total', (random() * 100)::numeric(8, 2))::text, created_at
    FROM ev`);
  log(`${events} events`);

  // Deliveries: 1-3 endpoints of the event's application (40 per application, picked with a skew so a few are
  // busy), 91 % succeeded / 9 % failed, 10 % of the last day's still pending. The attempt count goes with it.
  await db.query(`
    CREATE TEMP TABLE dl AS
    SELECT row_number() OVER () AS seq, ev.id AS event_id, ev.app, ev.event_type, ev.created_at,
           ((j0 + m * 7) % 40) * 5 + ev.app AS k, status,
           CASE status
             WHEN 'succeeded' THEN 1 + (random() < 0.12)::int + (random() < 0.04)::int
             WHEN 'failed' THEN 1 + floor(random() * 5)::int
             ELSE floor(random() * 3)::int END AS n
    FROM ev
    -- (ev.i keeps the subquery correlated: evaluated per event, not once)
    CROSS JOIN LATERAL (SELECT floor(40 * random() ^ 2)::int + 0 * ev.i AS j0,
                               1 + (random() < 0.6)::int + (random() < 0.2)::int + 0 * ev.i AS f) pick
    CROSS JOIN LATERAL generate_series(0, pick.f - 1) m
    CROSS JOIN LATERAL (SELECT CASE
                          WHEN ev.created_at > now() - interval '1 day' AND random() < 0.10 THEN 'pending'
                          WHEN random() < 0.91 THEN 'succeeded' ELSE 'failed' END AS status) s`);
  await db.query(`
    ALTER TABLE dl ADD COLUMN id text;
    UPDATE dl SET id = 'dlv_' || lpad(to_hex((extract(epoch FROM created_at) * 1000)::bigint), 12, '0')
                             || lpad(to_hex(seq), 16, '0')`);
  await db.query(`
    INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, attempt_count,
                            next_attempt_at, deadline_at, last_status_code, last_error, created_at, updated_at,
                            completed_at)
    SELECT id, 'app_' || lpad(to_hex(app), 28, '0'), event_id, 'ep_' || lpad(to_hex(k), 28, '0'), event_type,
           status::delivery_status, n,
           CASE WHEN status = 'pending' THEN now() + random() * interval '1 hour' END,
           created_at + interval '1 day',
           CASE status WHEN 'succeeded' THEN 200 WHEN 'failed' THEN 500 END,
           CASE WHEN status = 'failed' THEN 'http_500' END,
           created_at, created_at + n * interval '1 minute',
           CASE WHEN status <> 'pending' THEN created_at + n * interval '1 minute' END
    FROM dl`);
  const dcount = (await db.query<{ n: string }>('SELECT count(*) AS n FROM dl')).rows[0].n;
  log(`${dcount} deliveries`);

  // Attempts: n per delivery, retries (n-1)^2 * 30 s apart; the last one carries the delivery's outcome, earlier
  // ones are retrying (1 % interrupted). Durations ~ 30 ms + exponential(200 ms).
  await db.query(`
    INSERT INTO attempts (id, delivery_id, application_id, endpoint_id, event_id, number, started_at, duration_ms, url,
                          request_headers, response_status, response_headers, response_body, error_class,
                          error_message, outcome, created_at)
    SELECT 'att_' || lpad(to_hex((extract(epoch FROM started_at) * 1000)::bigint), 12, '0')
                  || lpad(to_hex(seq * 8 + num), 16, '0'),
           id, application_id, endpoint_id, event_id, num, started_at,
           CASE WHEN outcome = 'interrupted' THEN NULL ELSE least(15000, (30 + 200 * -ln(1 - random()))::int) END,
           url, jsonb_build_object('content-type', 'application/json', 'webhook-id', event_id),
           status_code,
           CASE WHEN status_code IS NOT NULL THEN '{"content-type":"text/plain"}'::jsonb END,
           CASE WHEN status_code IS NOT NULL THEN 'ok' END,
           CASE WHEN status_code IS NULL AND outcome <> 'interrupted' THEN 'timeout'
                WHEN outcome = 'interrupted' THEN 'interrupted' END,
           CASE WHEN outcome <> 'succeeded' THEN 'bench: ' || coalesce(status_code::text, 'no answer') END,
           outcome::attempt_outcome, started_at
    FROM (
      SELECT dl.seq, dl.id, 'app_' || lpad(to_hex(dl.app), 28, '0') AS application_id,
             'ep_' || lpad(to_hex(dl.k), 28, '0') AS endpoint_id, dl.event_id, num,
             date_trunc('milliseconds', dl.created_at + (num - 1) ^ 2 * interval '30 seconds'
                                                      + random() * interval '200 ms') AS started_at,
             'https://bench-' || dl.k || '.example.com/hook' AS url, o.outcome,
             CASE o.outcome
               WHEN 'succeeded' THEN 200
               WHEN 'interrupted' THEN NULL
               WHEN 'failed' THEN CASE WHEN dl.n = 1 THEN (ARRAY[400, 404, 410, 422])[1 + floor(random() * 4)::int]
                                       ELSE (ARRAY[500, 503, NULL])[1 + floor(random() * 3)::int] END
               ELSE (ARRAY[500, 502, 503, 503, 429, NULL])[1 + floor(random() * 6)::int] END AS status_code
      FROM dl
      CROSS JOIN LATERAL generate_series(1, dl.n) num
      CROSS JOIN LATERAL (SELECT CASE
                            WHEN num = dl.n AND dl.status <> 'pending' THEN dl.status
                            WHEN random() < 0.01 THEN 'interrupted'
                            ELSE 'retrying' END AS outcome) o
      LIMIT ${ATTEMPTS}
    ) a`);
  log('attempts');
  await db.query(`SET session_replication_role = DEFAULT`);
  for (const d of defs.rows) {
    await db.query(d.def);
  }
  log(`${defs.rows.length} indexes rebuilt`);
  await db.query('VACUUM ANALYZE events, deliveries, attempts, endpoints, applications');
  log('vacuum analyze');
}

interface Captured {
  sql: string;
  params: unknown[];
}

interface Row {
  group: string;
  name: string;
  first: number;
  p50: number;
  max: number;
  rows: number;
  indexes: string;
  planMs: string;
}

async function main(): Promise<void> {
  await ensureDatabase(DATABASE_URL);
  await migrate(DATABASE_URL);
  const db = new Client({ connectionString: DATABASE_URL });
  await db.connect();
  const have = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM attempts')).rows[0].n);
  if (process.env.SKIP_FILL === '1' && have > 0) {
    console.log(`reusing ${have} attempts in ${DATABASE_URL}`);
  } else {
    console.log(`filling ${DATABASE_URL} with ~${ATTEMPTS} attempts`);
    await fill(db);
  }
  const counts = (
    await db.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM applications) AS applications, (SELECT count(*) FROM endpoints) AS endpoints,
              (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM deliveries) AS deliveries,
              (SELECT count(*) FROM attempts) AS attempts,
              pg_size_pretty(pg_total_relation_size('attempts')) AS attempts_size,
              pg_size_pretty(pg_indexes_size('attempts')) AS attempts_indexes,
              pg_size_pretty(pg_total_relation_size('deliveries')) AS deliveries_size,
              pg_size_pretty(pg_indexes_size('deliveries')) AS deliveries_indexes,
              current_setting('server_version') AS pg`,
    )
  ).rows[0];
  console.log(counts);

  // Sample ids.
  const one = async <T>(sql: string): Promise<T> => (await db.query(sql)).rows[0] as T;
  const big = await one<{ id: string }>(
    `SELECT application_id AS id FROM deliveries GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
  );
  const small = await one<{ id: string }>(
    `SELECT application_id AS id FROM deliveries GROUP BY 1 ORDER BY count(*) ASC LIMIT 1`,
  );
  const byEndpoint = (
    await db.query<{ id: string; n: string }>(
      `SELECT endpoint_id AS id, count(*) AS n FROM attempts GROUP BY 1 ORDER BY 2 DESC`,
    )
  ).rows;
  const busy = byEndpoint[0];
  const median = byEndpoint[Math.floor(byEndpoint.length / 2)];
  const quiet = byEndpoint[byEndpoint.length - 1];
  const busyApp = await one<{ id: string }>(
    `SELECT application_id AS id FROM endpoints WHERE id = '${busy.id}'`,
  );
  const event = await one<{ id: string }>(
    `SELECT event_id AS id FROM deliveries WHERE application_id = '${big.id}' ORDER BY attempt_count DESC, id LIMIT 1`,
  );
  const delivery = await one<{ id: string }>(
    `SELECT id FROM deliveries WHERE application_id = '${big.id}' ORDER BY attempt_count DESC, id LIMIT 1`,
  );
  const types = (
    await db.query<{ t: string; n: string }>(
      `SELECT event_type AS t, count(*) AS n FROM deliveries WHERE application_id = '${big.id}' GROUP BY 1 ORDER BY 2 DESC`,
    )
  ).rows;
  const common = types[0].t;
  const rare = types[types.length - 1].t;
  const windowFrom = new Date(Date.now() - 11 * 86_400_000);
  const windowTo = new Date(Date.now() - 10 * 86_400_000);
  console.log({
    bigApp: big.id,
    smallApp: small.id,
    busyEndpoint: `${busy.id} (${busy.n} attempts)`,
    medianEndpoint: `${median.id} (${median.n})`,
    quietEndpoint: `${quiet.id} (${quiet.n})`,
    commonType: `${common} (${types[0].n} deliveries in the big app)`,
    rareType: `${rare} (${types[types.length - 1].n})`,
  });

  // The services exactly as the API builds them: PrismaService from AppConfig.
  const config = Object.assign(new AppConfig(), { DATABASE_URL });
  const prisma = new PrismaService(config);
  const queries = new DeliveriesQueryService(new DeliveriesRepository(prisma));
  const actions = new DeliveryActionsService(new DeliveriesRepository(prisma), config);
  // A second copy over a logging client, only to capture the SQL each call sends (for EXPLAIN).
  const captured: Captured[] = [];
  const logging = new PrismaClient({
    adapter: new PrismaPg({ connectionString: DATABASE_URL, max: 2 }),
    log: [{ emit: 'event', level: 'query' }],
  });
  logging.$on('query', (e: { query: string; params: string }) => {
    captured.push({ sql: e.query, params: JSON.parse(e.params) as unknown[] });
  });
  const explainQueries = new DeliveriesQueryService(
    new DeliveriesRepository(logging as unknown as PrismaService),
  );

  const all: QueryScope = {};
  const bigScope: QueryScope = { applicationId: big.id };
  const smallScope: QueryScope = { applicationId: small.id };
  const busyScope: QueryScope = { applicationId: busyApp.id };
  const window = { since: windowFrom, until: windowTo };

  // A cursor 20 pages (1,000 rows) deep, for the deep-page cases.
  const deepCursor = async (kind: 'deliveries' | 'attempts', scope: QueryScope): Promise<string> => {
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page =
        kind === 'deliveries'
          ? await queries.listDeliveries(scope, {}, LIMIT, cursor)
          : await queries.listAttempts(scope, {}, LIMIT, cursor);
      cursor = page.nextCursor ?? undefined;
    }
    return cursor!;
  };
  const deepD = await deepCursor('deliveries', bigScope);
  const deepA = await deepCursor('attempts', bigScope);

  type Q = (s: DeliveriesQueryService) => Promise<{ data: unknown[] } | object>;
  const d =
    (scope: QueryScope, f: DeliveryFilter, cursor?: string): Q =>
    (s) =>
      s.listDeliveries(scope, f, LIMIT, cursor);
  const a =
    (scope: QueryScope, f: AttemptFilter, cursor?: string): Q =>
    (s) =>
      s.listAttempts(scope, f, LIMIT, cursor);
  const cases: [string, string, Q][] = [
    ['listDeliveries', 'big app, no filter', d(bigScope, {})],
    ['listDeliveries', 'small app, no filter', d(smallScope, {})],
    ['listDeliveries', 'all apps, no filter', d(all, {})],
    ['listDeliveries', 'big app, page 21 (cursor)', d(bigScope, {}, deepD)],
    ['listDeliveries', 'endpointId (busiest)', d(busyScope, { endpointId: busy.id })],
    ['listDeliveries', 'endpointId (quietest)', d(all, { endpointId: quiet.id })],
    ['listDeliveries', 'eventId', d(bigScope, { eventId: event.id })],
    ['listDeliveries', `big app, eventType common`, d(bigScope, { eventType: common })],
    ['listDeliveries', `big app, eventType rare`, d(bigScope, { eventType: rare })],
    ['listDeliveries', `all apps, eventType rare`, d(all, { eventType: rare })],
    ['listDeliveries', 'big app, status=failed', d(bigScope, { status: 'failed' })],
    ['listDeliveries', 'big app, status=pending', d(bigScope, { status: 'pending' })],
    ['listDeliveries', 'all apps, status=pending', d(all, { status: 'pending' })],
    ['listDeliveries', 'big app, since+until (1 day, 10 days ago)', d(bigScope, window)],
    ['listDeliveries', 'all apps, since+until', d(all, window)],
    [
      'listDeliveries',
      'endpointId (busiest) + status=failed',
      d(busyScope, { endpointId: busy.id, status: 'failed' }),
    ],
    [
      'listDeliveries',
      'big app, eventType rare + status=failed + since',
      d(bigScope, { eventType: rare, status: 'failed', since: windowFrom }),
    ],
    ['getDelivery', 'delivery with most attempts', (s) => s.getDelivery(bigScope, delivery.id)],
    ['listAttempts', 'big app, no filter', a(bigScope, {})],
    ['listAttempts', 'all apps, no filter', a(all, {})],
    ['listAttempts', 'big app, page 21 (cursor)', a(bigScope, {}, deepA)],
    ['listAttempts', 'endpointId (busiest)', a(busyScope, { endpointId: busy.id })],
    ['listAttempts', 'eventId', a(bigScope, { eventId: event.id })],
    ['listAttempts', 'deliveryId', a(bigScope, { deliveryId: delivery.id })],
    ['listAttempts', 'big app, outcome=failed', a(bigScope, { outcome: 'failed' })],
    ['listAttempts', 'big app, outcome=interrupted', a(bigScope, { outcome: 'interrupted' })],
    ['listAttempts', 'all apps, outcome=interrupted', a(all, { outcome: 'interrupted' })],
    ['listAttempts', 'big app, statusCode=503', a(bigScope, { statusCode: 503 })],
    ['listAttempts', 'all apps, statusCode=410', a(all, { statusCode: 410 })],
    ['listAttempts', 'big app, since+until', a(bigScope, window)],
    ['listAttempts', 'all apps, since+until', a(all, window)],
    [
      'listAttempts',
      'endpointId (busiest) + outcome=failed',
      a(busyScope, { endpointId: busy.id, outcome: 'failed' }),
    ],
    [
      'listAttempts',
      'endpointId (busiest) + statusCode=410',
      a(busyScope, { endpointId: busy.id, statusCode: 410 }),
    ],
    ['endpointStats', `busiest endpoint (${busy.n} attempts)`, (s) => s.endpointStats(all, busy.id)],
    ['endpointStats', `median endpoint (${median.n})`, (s) => s.endpointStats(all, median.id)],
    ['endpointStats', `quietest endpoint (${quiet.n})`, (s) => s.endpointStats(all, quiet.id)],
  ];

  const results: Row[] = [];
  for (const [group, name, q] of cases) {
    const t0 = performance.now();
    const r = await q(queries);
    const first = performance.now() - t0;
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await q(queries);
      times.push(performance.now() - t);
    }
    times.sort((x, y) => x - y);
    captured.length = 0;
    await q(explainQueries);
    const indexes = new Set<string>();
    const planTimes: string[] = [];
    for (const c of captured) {
      const plan = (
        await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${c.sql}`, c.params)
      ).rows.map((x) => x['QUERY PLAN']);
      for (const line of plan) {
        const m = /(?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\S+)/.exec(
          line,
        );
        if (m) indexes.add(m[1]);
        if (/Seq Scan on (attempts|deliveries|events)/.test(line)) indexes.add(`SEQ SCAN ${line.trim()}`);
      }
      const exec = plan.find((l) => l.startsWith('Execution Time'));
      if (exec) planTimes.push(exec.replace(/Execution Time: ([\d.]+) ms/, '$1'));
    }
    const rows = 'data' in r && Array.isArray(r.data) ? r.data.length : 1;
    const row: Row = {
      group,
      name,
      first,
      p50: times[Math.floor((times.length - 1) / 2)],
      max: times[times.length - 1],
      rows,
      indexes: [...indexes].join(', ') || '(none)',
      planMs: planTimes.join(' + '),
    };
    results.push(row);
    console.log(
      `${group.padEnd(15)} ${name.padEnd(48)} p50 ${row.p50.toFixed(1).padStart(6)} ms  max ${row.max
        .toFixed(1)
        .padStart(
          6,
        )} ms  first ${row.first.toFixed(1).padStart(6)} ms  rows ${String(rows).padStart(3)}  ${row.indexes}`,
    );
  }

  // One recover() (a write): the busiest endpoint's failed deliveries of 3 days, capped at 10,000.
  const t = performance.now();
  const rec = await actions.recover(
    busyScope,
    busy.id,
    new Date(Date.now() - 6 * 86_400_000),
    new Date(Date.now() - 3 * 86_400_000),
  );
  const recoverMs = performance.now() - t;
  console.log(
    `recover (busiest endpoint, 3-day window): ${rec.requeued} re-queued in ${recoverMs.toFixed(1)} ms`,
  );

  console.log('\n| query | case | p50 ms | max ms | first ms | rows | index(es) used |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    console.log(
      `| ${r.group} | ${r.name} | ${r.p50.toFixed(1)} | ${r.max.toFixed(1)} | ${r.first.toFixed(1)} | ${r.rows} | ${r.indexes
        .split(', ')
        .map((i) => `\`${i}\``)
        .join(', ')} |`,
    );
  }
  console.log(
    `| recover | busiest endpoint, 3-day window | ${recoverMs.toFixed(1)} (1 run) | | | ${rec.requeued} re-queued | |`,
  );

  await logging.$disconnect();
  await prisma.$disconnect();
  await db.end();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
