import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AppConfig } from '@tern/config';
import {
  DispatchCycle,
  DispatchLimits,
  DispatchRepository,
  DISPATCH_COUNTS_SQL,
  ORDERED_ENDPOINTS_CTE,
  orderedHeadsCtes,
  ReleasedBatch,
} from '@tern/core';
import { PrismaService } from '@tern/database';
import { Priority, prioritySchedule } from '@tern/delivery-rules';
import { createScratchDatabase, sql, waitFor } from '../support/scratch-db';

/**
 * The dispatcher's statements against a real database: what one cycle releases (in-flight credits, rate tokens,
 * fair shares, jobs per endpoint), that two dispatchers together never exceed an endpoint's cap, and that a failed
 * publish releases nothing.
 */
describe('DispatchRepository: release cycles (real database)', () => {
  let url: string;
  let drop: () => Promise<void>;
  let prismas: PrismaService[] = [];
  let repo: DispatchRepository;
  let other: DispatchRepository;

  const LIMITS: DispatchLimits = {
    budget: 1000,
    endpoints: 100,
    defaultMaxInFlight: 10,
    perJob: 4,
    rotation: 0,
    priorities: prioritySchedule({ high: 8, normal: 2, low: 1 }),
    circuit: {
      failureThreshold: 3,
      failureMinMs: 5000,
      cooldownMinMs: 1000,
      cooldownMaxMs: 4000,
      probeTimeoutMs: 60_000,
    },
    disableAfterMs: 5 * 86_400_000,
    deadlineSeconds: 86_400,
  };

  before(async () => {
    ({ url, drop } = await createScratchDatabase('dispatch_repo'));
    prismas = [0, 1].map(() => new PrismaService({ DATABASE_URL: url, DATABASE_POOL_SIZE: 2 } as AppConfig));
    repo = new DispatchRepository(prismas[0]);
    other = new DispatchRepository(prismas[1]);
  });
  after(async () => {
    for (const p of prismas) await p.$disconnect();
    await drop?.();
  });
  beforeEach(async () => {
    await sql(url, `TRUNCATE applications CASCADE`);
  });

  async function application(): Promise<string> {
    const [{ id }] = await sql<{ id: string }>(
      url,
      `INSERT INTO applications (name) VALUES ('d') RETURNING id`,
    );
    return id;
  }

  async function endpoint(
    app: string,
    o: { maxInFlight?: number; rateLimitPerSecond?: number } = {},
  ): Promise<string> {
    const [{ id }] = await sql<{ id: string }>(
      url,
      `INSERT INTO endpoints (application_id, url, max_in_flight, rate_limit_per_second)
       VALUES ($1, 'https://r.example.com/', $2, $3) RETURNING id`,
      [app, o.maxInFlight ?? null, o.rateLimitPerSecond ?? null],
    );
    return id;
  }

  /** `n` pending deliveries to the endpoint, due `dueInMs` from now (one event each, of `priority`). */
  async function deliveries(
    app: string,
    ep: string,
    n: number,
    dueInMs = 0,
    priority: Priority = 'normal',
  ): Promise<void> {
    await sql(
      url,
      `WITH ev AS (
         INSERT INTO events (id, application_id, event_type, payload, priority)
         SELECT tern_id('evt'), $1, 't', '{}', $5::event_priority FROM generate_series(1, $3::int) RETURNING id
       )
       INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, next_attempt_at,
                               deadline_at, priority)
       SELECT tern_id('dlv'), $1, ev.id, $2, 't', 'pending', now() + $4::int * interval '1 ms',
              now() + interval '1 day', $5::event_priority
       FROM ev`,
      [app, ep, n, dueInMs, priority],
    );
  }

  async function released(ep: string): Promise<number> {
    const [{ n }] = await sql<{ n: number }>(
      url,
      `SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = $1 AND released_at IS NOT NULL`,
      [ep],
    );
    return n;
  }

  /**
   * Cycles until one has nothing more (state rows are created by the first cycle that meets an endpoint); what was
   * released, the circuit changes and the endpoints to disable are summed over the cycles.
   */
  async function cycle(
    r = repo,
    limits = LIMITS,
    publish: (b: ReleasedBatch[]) => Promise<void> = async () => undefined,
  ) {
    const published: ReleasedBatch[] = [];
    const sum = { released: 0, circuits: [] as DispatchCycle['circuits'], toDisable: [] as string[] };
    for (let i = 0; i < 5; i++) {
      const c = await r.releaseOnce(
        limits,
        async (b) => {
          published.push(...b);
          await publish(b);
        },
        10_000,
      );
      sum.released += c.released;
      sum.circuits.push(...c.circuits);
      sum.toDisable.push(...c.toDisable);
      if (!c.more) return { ...c, ...sum, published };
    }
    throw new Error('no end of cycles');
  }

  it('releases up to maxInFlight per endpoint, in jobs of at most perJob, with tokens the rows carry', async () => {
    const app = await application();
    const a = await endpoint(app, { maxInFlight: 6 });
    const b = await endpoint(app); // ENDPOINT_MAX_IN_FLIGHT = 10
    await deliveries(app, a, 20);
    await deliveries(app, b, 3);
    const { published } = await cycle();
    assert.equal(await released(a), 6);
    assert.equal(await released(b), 3);
    for (const job of published) assert.ok(job.deliveries.length <= LIMITS.perJob);
    assert.deepEqual(
      published.filter((j) => j.endpointId === a).map((j) => j.deliveries.length),
      [4, 2],
    );
    const tokens = await sql<{ id: string; token: string }>(
      url,
      `SELECT id, released_at::text AS token FROM deliveries WHERE released_at IS NOT NULL`,
    );
    const byId = new Map(tokens.map((t) => [t.id, t.token]));
    for (const d of published.flatMap((j) => j.deliveries))
      assert.equal(byId.get(d.deliveryId), d.releaseToken);

    // Nothing more while they are in flight; two recorded (released_at cleared, done) → two more.
    assert.equal((await cycle()).released, 0);
    await sql(
      url,
      `UPDATE deliveries SET status = 'succeeded', released_at = NULL
       WHERE id IN (SELECT id FROM deliveries WHERE endpoint_id = $1 AND released_at IS NOT NULL LIMIT 2)`,
      [a],
    );
    assert.equal((await cycle()).released, 2);
    assert.equal(await released(a), 6);
  });

  it('priority: high first, each level oldest due first, lower levels keep their weighted share', async () => {
    const app = await application();
    const ep = await endpoint(app, { maxInFlight: 11 });
    await deliveries(app, ep, 20, -60_000); // a normal backlog, due for a minute
    await deliveries(app, ep, 3, 0, 'high');
    await deliveries(app, ep, 3, 0, 'low');
    await deliveries(app, ep, 2, 60_000, 'high'); // not due yet: stays
    const { published } = await cycle();
    // 11 credits, weights 8:2:1 → slots high 8, normal 2, low 1; high has 3 due, its 5 spare slots go to normal.
    const rows = await sql<{ priority: Priority; n: number }>(
      url,
      `SELECT priority::text, count(*)::int AS n FROM deliveries WHERE released_at IS NOT NULL GROUP BY 1`,
    );
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.priority, r.n])), { high: 3, normal: 7, low: 1 });
    const [{ oldest }] = await sql<{ oldest: boolean }>(
      url,
      `SELECT bool_and(r.next_attempt_at <= u.next_attempt_at) AS oldest
       FROM deliveries r, deliveries u
       WHERE r.priority = 'normal' AND u.priority = 'normal' AND r.released_at IS NOT NULL
         AND u.released_at IS NULL`,
    );
    assert.equal(oldest, true, 'the oldest normal deliveries were released');
    const [{ ids }] = await sql<{ ids: string[] }>(
      url,
      `SELECT array_agg(id ORDER BY id) AS ids FROM deliveries WHERE priority = 'high' AND released_at IS NOT NULL`,
    );
    assert.deepEqual(
      published[0].deliveries.slice(0, 3).map((d) => d.deliveryId),
      ids,
      'the endpoint’s first job carries its high deliveries',
    );
  });

  it('priority: one credit per cycle walks the weighted sequence, whatever the cycle rotation (anti-starvation)', async () => {
    const app = await application();
    const ep = await endpoint(app, { maxInFlight: 1 });
    for (const p of ['high', 'normal', 'low'] as const) await deliveries(app, ep, 20, -60_000, p);
    const order: string[] = [];
    for (let i = 0; i < 11; i++) {
      await cycle(); // LIMITS.rotation stays 0: the position is the endpoint's own
      const rows = await sql<{ priority: Priority }>(
        url,
        `SELECT priority::text FROM deliveries WHERE released_at IS NOT NULL`,
      );
      assert.equal(rows.length, 1);
      order.push(rows[0].priority[0].toUpperCase());
      await sql(
        url,
        `UPDATE deliveries SET status = 'succeeded', released_at = NULL WHERE released_at IS NOT NULL`,
      );
    }
    assert.equal(order.join(' '), 'H H N H H L H H N H H');
  });

  it('two dispatchers at once never release more than an endpoint’s cap between them', async () => {
    const app = await application();
    const ep = await endpoint(app, { maxInFlight: 5 });
    await deliveries(app, ep, 200);
    await cycle(); // creates the state row, releases 5
    await sql(url, `UPDATE deliveries SET released_at = NULL WHERE endpoint_id = $1`, [ep]);
    const slowPublish = () => new Promise<void>((r) => setTimeout(r, 150));
    const [x, y] = await Promise.all([cycle(repo, LIMITS, slowPublish), cycle(other, LIMITS, slowPublish)]);
    assert.equal(x.released + y.released, 5);
    assert.equal(await released(ep), 5);
  });

  it('counts in flight after the lock: a release committed while this cycle’s statement ran is not released again', async () => {
    // Under READ COMMITTED a statement reads the snapshot taken when it starts. If dispatcher B's candidates
    // statement starts while A holds the endpoint (A's release not yet committed) and reaches the endpoint's row
    // after A commits, B locks it — and, counting in the same statement, missed A's release and sent the cap again.
    // Many endpoints with work not yet due make B's skip scan long enough for A to commit in the middle of it.
    const app = await application();
    const ep = await endpoint(app, { maxInFlight: 5 });
    await deliveries(app, ep, 50);
    await sql(
      url,
      `WITH e AS (
         INSERT INTO endpoints (application_id, url)
         SELECT $1, 'https://r.example.com/' || g FROM generate_series(1, 20000) g RETURNING id
       ), ev AS (
         INSERT INTO events (id, application_id, event_type, payload)
         SELECT tern_id('evt'), $1, 't', '{}' FROM e RETURNING id
       ), pairs AS (
         SELECT a.id AS endpoint_id, b.id AS event_id
         FROM (SELECT id, row_number() OVER () AS n FROM e) a JOIN (SELECT id, row_number() OVER () AS n FROM ev) b
           USING (n)
       )
       INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, next_attempt_at,
                               deadline_at)
       SELECT tern_id('dlv'), $1, event_id, endpoint_id, 't', 'pending', now() + interval '1 hour',
              now() + interval '1 day'
       FROM pairs`,
      [app],
    );
    await cycle(); // creates the state row, releases 5
    await sql(url, `UPDATE deliveries SET released_at = NULL WHERE endpoint_id = $1`, [ep]);

    let entered!: () => void;
    const inPublish = new Promise<void>((r) => (entered = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const a = repo.releaseOnce(
      LIMITS,
      async () => {
        entered();
        await gate;
      },
      30_000,
    );
    await inPublish; // A holds the endpoint's row and has released 5, uncommitted
    const b = other.releaseOnce(LIMITS, async () => undefined, 30_000);
    // B's candidates statement is running (its snapshot taken, A still uncommitted): let A commit now.
    await waitFor(
      'B’s candidates statement to run',
      async () =>
        (
          await sql<{ n: number }>(
            url,
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
               AND query LIKE '%RECURSIVE eps%'`,
          )
        )[0].n > 0,
      10_000,
      2,
    );
    open();
    const [x, y] = await Promise.all([a, b]);
    assert.equal(x.released, 5);
    assert.equal(await released(ep), 5, `B released ${y.released} more`);
  });

  it('a rate-limited endpoint gets its tokens: a full second’s worth, then what refills', async () => {
    const app = await application();
    const ep = await endpoint(app, { maxInFlight: 100, rateLimitPerSecond: 5 });
    await deliveries(app, ep, 100);
    assert.equal((await cycle()).released, 5);
    const soon = await cycle();
    assert.ok(soon.released <= 1, `released ${soon.released} right after the burst`);
    await new Promise((r) => setTimeout(r, 600));
    const later = await cycle();
    assert.ok(later.released >= 2 && later.released <= 4, `released ${later.released} after 600 ms`);
  });

  it('shares a cycle equally between applications, whatever their backlogs', async () => {
    const appA = await application();
    const appB = await application();
    const a = await endpoint(appA, { maxInFlight: 500 });
    const b = await endpoint(appB, { maxInFlight: 500 });
    await deliveries(appA, a, 400);
    await deliveries(appB, b, 30);
    const limits = { ...LIMITS, budget: 40 };
    await repo.releaseOnce(limits, async () => undefined, 10_000); // state rows
    const c = await repo.releaseOnce(limits, async () => undefined, 10_000);
    assert.equal(c.released, 40);
    assert.equal(await released(a), 20);
    assert.equal(await released(b), 20);
    assert.equal(c.more, true, 'budget spent: go again');
  });

  it('a publish that fails releases nothing; not-due work reports when it falls due', async () => {
    const app = await application();
    const ep = await endpoint(app);
    await deliveries(app, ep, 3);
    await cycle(); // state row
    await sql(url, `UPDATE deliveries SET released_at = NULL`);
    await assert.rejects(
      repo.releaseOnce(
        LIMITS,
        async () => {
          throw new Error('Redis down');
        },
        10_000,
      ),
      /Redis down/,
    );
    assert.equal(await released(ep), 0);

    await sql(url, `UPDATE deliveries SET next_attempt_at = now() + interval '30 seconds'`);
    const c = await cycle();
    assert.equal(c.released, 0);
    assert.ok(
      c.nextDueInMs !== null && c.nextDueInMs > 25_000 && c.nextDueInMs <= 30_000,
      `${c.nextDueInMs}`,
    );
  });

  it('circuit: opens at the threshold (event written), one probe after the cool-down, closes on its success', async () => {
    const app = await application();
    const ep = await endpoint(app);
    await sql(
      url,
      `INSERT INTO endpoints (application_id, url, kind) VALUES ($1, 'https://ops.example.com/', 'operational')`,
      [app],
    );
    await deliveries(app, ep, 12);
    // Three failures in the last second: a chance run, not yet failureMinMs long.
    await sql(
      url,
      `UPDATE endpoints SET failure_streak = 3, failing_since = now() - interval '1 s' WHERE id = $1`,
      [ep],
    );
    assert.deepEqual((await cycle()).circuits, [], 'a streak younger than failureMinMs keeps it closed');
    await sql(url, `UPDATE deliveries SET released_at = NULL WHERE endpoint_id = $1`, [ep]);
    await sql(url, `UPDATE endpoints SET failing_since = now() - interval '6 s' WHERE id = $1`, [ep]);
    const opened = await cycle();
    assert.deepEqual(opened.circuits, [{ endpointId: ep, transition: 'opened' }]);
    assert.ok(opened.nextDueInMs !== null && opened.nextDueInMs <= 1000, `next ${opened.nextDueInMs}`);
    assert.equal(await released(ep), 0, 'nothing is sent while the circuit is open');

    await sql(
      url,
      `UPDATE endpoint_states SET circuit_next_probe_at = now() - interval '1 ms' WHERE endpoint_id = $1`,
      [ep],
    );
    await cycle();
    assert.equal(await released(ep), 1, 'one probe');
    await cycle();
    assert.equal(await released(ep), 1, 'no more while the probe is out');
    const [st] = await sql<{ circuit_state: string }>(
      url,
      `SELECT circuit_state::text FROM endpoint_states WHERE endpoint_id = $1`,
      [ep],
    );
    assert.equal(st.circuit_state, 'half_open');

    // The probe succeeds (as the record statement writes it): the circuit closes, the backlog goes at the cap.
    await sql(
      url,
      `UPDATE deliveries SET status = 'succeeded', released_at = NULL WHERE endpoint_id = $1 AND released_at IS NOT NULL`,
      [ep],
    );
    await sql(url, `UPDATE endpoints SET failure_streak = 0 WHERE id = $1`, [ep]);
    const closed = await cycle();
    assert.deepEqual(closed.circuits, [{ endpointId: ep, transition: 'closed' }]);
    assert.equal(await released(ep), 10);
    const events = await sql<{ event_type: string }>(
      url,
      `SELECT event_type FROM events WHERE application_id = $1 AND event_type LIKE 'endpoint.circuit%' ORDER BY id`,
      [app],
    );
    assert.deepEqual(
      events.map((e) => e.event_type),
      ['endpoint.circuit_opened', 'endpoint.circuit_closed'],
    );
  });

  /** As the record statement leaves an endpoint whose last `failures` attempts failed over the past minute. */
  async function failingForAMinute(ep: string, failures: number) {
    await sql(
      url,
      `UPDATE endpoints SET failure_streak = $2, failing_since = now() - interval '1 min' WHERE id = $1`,
      [ep, failures],
    );
  }

  it('a probe that was the last delivery still closes the circuit (nothing left to send)', async () => {
    const app = await application();
    const ep = await endpoint(app);
    await deliveries(app, ep, 1);
    await failingForAMinute(ep, 3);
    assert.deepEqual((await cycle()).circuits, [{ endpointId: ep, transition: 'opened' }]);
    await sql(url, `UPDATE endpoint_states SET circuit_next_probe_at = now() WHERE endpoint_id = $1`, [ep]);
    assert.equal((await cycle()).released, 1, 'the probe');
    // It succeeds, as the record statement writes it: no delivery of the endpoint is pending any more.
    await sql(url, `UPDATE deliveries SET status = 'succeeded', released_at = NULL WHERE endpoint_id = $1`, [
      ep,
    ]);
    await sql(url, `UPDATE endpoints SET failure_streak = 0, failing_since = NULL WHERE id = $1`, [ep]);
    assert.deepEqual((await cycle()).circuits, [{ endpointId: ep, transition: 'closed' }]);
    const [st] = await sql<{ circuit_state: string }>(
      url,
      `SELECT circuit_state::text FROM endpoint_states WHERE endpoint_id = $1`,
      [ep],
    );
    assert.equal(st.circuit_state, 'closed');
  });

  it('a failed probe reopens the circuit with the cool-down doubled', async () => {
    const app = await application();
    const ep = await endpoint(app);
    await deliveries(app, ep, 5);
    await failingForAMinute(ep, 3);
    await cycle();
    await sql(url, `UPDATE endpoint_states SET circuit_next_probe_at = now() WHERE endpoint_id = $1`, [ep]);
    assert.equal((await cycle()).released, 1);
    await sql(url, `UPDATE deliveries SET released_at = NULL WHERE endpoint_id = $1`, [ep]);
    await sql(url, `UPDATE endpoints SET failure_streak = 4 WHERE id = $1`, [ep]);
    const r = await cycle();
    assert.deepEqual(r.circuits, [{ endpointId: ep, transition: 'reopened' }]);
    const [st] = await sql<{ circuit_state: string; circuit_cooldown_ms: number }>(
      url,
      `SELECT circuit_state::text, circuit_cooldown_ms FROM endpoint_states WHERE endpoint_id = $1`,
      [ep],
    );
    assert.deepEqual(st, { circuit_state: 'open', circuit_cooldown_ms: 2000 });
  });

  it('auto-disable: failing with no success for ENDPOINT_DISABLE_AFTER_SECONDS → to be disabled', async () => {
    const app = await application();
    const ep = await endpoint(app);
    await deliveries(app, ep, 2);
    await failingForAMinute(ep, 1);
    assert.deepEqual((await cycle()).toDisable, []);
    await sql(url, `UPDATE deliveries SET released_at = NULL WHERE endpoint_id = $1`, [ep]);
    // The clock, moved on: the endpoint has been failing for six days.
    await sql(url, `UPDATE endpoints SET failing_since = now() - interval '6 days' WHERE id = $1`, [ep]);
    assert.deepEqual((await cycle()).toDisable, [ep]);
    // A success (streak back to 0, mark cleared) ends it.
    await sql(url, `UPDATE deliveries SET released_at = NULL WHERE endpoint_id = $1`, [ep]);
    await sql(url, `UPDATE endpoints SET failure_streak = 0, failing_since = NULL WHERE id = $1`, [ep]);
    assert.deepEqual((await cycle()).toDisable, []);
  });

  // Ordered delivery (issue #12 part 1): an endpoint with ordering partitioned releases only its keys' heads.

  async function orderedEndpoint(
    app: string,
    onFailure: 'skip' | 'block',
    maxInFlight = 10,
  ): Promise<string> {
    const [{ id }] = await sql<{ id: string }>(
      url,
      `INSERT INTO endpoints (application_id, url, max_in_flight, ordering, on_failure)
       VALUES ($1, 'https://r.example.com/', $2, 'partitioned', $3::ordering_on_failure) RETURNING id`,
      [app, maxInFlight, onFailure],
    );
    return id;
  }

  /** `n` ordered deliveries of key `key` (as fan-out writes them: key and sequence copied), in sequence order. */
  async function keyed(
    app: string,
    ep: string,
    key: string,
    n: number,
    o: { priority?: Priority; dueInMs?: number } = {},
  ): Promise<string[]> {
    const rows = await sql<{ id: string }>(
      url,
      `WITH ev AS MATERIALIZED (
         SELECT tern_id('evt') AS id, nextval('partition_seq') AS seq FROM generate_series(1, $4::int) g
       ), evi AS (
         INSERT INTO events (id, application_id, event_type, payload, priority, partition_key, partition_seq)
         SELECT id, $1, 't', '{}', $5::event_priority, $3, seq FROM ev RETURNING id
       )
       INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, next_attempt_at,
                               deadline_at, priority, partition_key, partition_seq)
       SELECT tern_id('dlv'), $1, ev.id, $2, 't', 'pending', now() + $6::int * interval '1 ms',
              now() + interval '1 day', $5::event_priority, $3, ev.seq
       FROM ev JOIN evi ON evi.id = ev.id ORDER BY ev.seq
       RETURNING id`,
      [app, ep, key, n, o.priority ?? 'normal', o.dueInMs ?? 0],
    );
    const order = await sql<{ id: string }>(
      url,
      `SELECT id FROM deliveries WHERE id = ANY ($1::text[]) ORDER BY partition_seq`,
      [rows.map((r) => r.id)],
    );
    return order.map((r) => r.id);
  }

  it('ordered heads come from their index probes: no scan of deliveries, one head per key, lowest sequence', async () => {
    // The planner estimates the recursive okeys CTE at thousands of rows: joined to deliveries again by id, it
    // chose a hash join over a sequential scan of the table — most of an ordered cycle's time, growing with the
    // table (bench, ordered endpoint with 100 keys: 0.41 × the unordered throughput before, 1.07 after).
    const app = await application();
    const ep = await orderedEndpoint(app, 'skip', 200);
    await sql(
      url,
      `WITH ev AS MATERIALIZED (
         SELECT tern_id('evt') AS id, nextval('partition_seq') AS seq, 'k' || (g % 100) AS k
         FROM generate_series(1, 20000) g
       ), evi AS (
         INSERT INTO events (id, application_id, event_type, payload, partition_key, partition_seq)
         SELECT id, $1, 't', '{}', k, seq FROM ev RETURNING id
       )
       INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, next_attempt_at,
                               deadline_at, partition_key, partition_seq)
       SELECT tern_id('dlv'), $1, ev.id, $2, 't', 'pending', now(), now() + interval '1 day', ev.k, ev.seq
       FROM ev JOIN evi ON evi.id = ev.id`,
      [app, ep],
    );
    await sql(url, `ANALYZE deliveries`);
    // As the dispatcher's statements use them: for the endpoints the skip scan finds (oeps).
    const heads = `WITH RECURSIVE ${ORDERED_ENDPOINTS_CTE}, ${orderedHeadsCtes('oeps')}
                   SELECT id, partition_key FROM oheads`;
    const plan = await sql<{ 'QUERY PLAN': string }>(url, `EXPLAIN ${heads}`);
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    assert.doesNotMatch(text, /Seq Scan on deliveries/, text);
    const got = await sql<{ id: string; partition_key: string }>(url, heads);
    const lowest = await sql<{ id: string }>(
      url,
      `SELECT DISTINCT ON (partition_key) id FROM deliveries WHERE endpoint_id = $1
       ORDER BY partition_key, partition_seq`,
      [ep],
    );
    assert.equal(got.length, 100);
    assert.deepEqual(got.map((r) => r.id).sort(), lowest.map((r) => r.id).sort());
  });

  it('due work is counted from the releasable index, not by scanning the finished deliveries ahead of it', async () => {
    // One endpoint with most of the table's pending rows behind as many finished ones: "a sequential scan until
    // LIMIT rows" looked cheapest and read every finished row first (and the whole table for a level with none) —
    // 48 ms a cycle behind a 44,000-delivery backlog (bench fairness phase).
    const app = await application();
    const ep = await endpoint(app, { maxInFlight: 200 });
    await deliveries(app, ep, 20_000);
    await sql(
      url,
      `UPDATE deliveries SET status = 'succeeded', completed_at = now() WHERE endpoint_id = $1`,
      [ep],
    );
    await sql(url, `VACUUM deliveries`);
    await deliveries(app, ep, 20_000);
    await sql(url, `ANALYZE deliveries`);
    const plan = await sql<{ 'QUERY PLAN': string }>(url, `EXPLAIN ${DISPATCH_COUNTS_SQL}`, [
      [ep],
      [200],
      500,
      ['high', 'normal', 'low'],
      [false],
    ]);
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    assert.doesNotMatch(text, /Seq Scan on deliveries/, text);
    const [counts] = await sql<{ in_flight: number; due: number[] }>(url, DISPATCH_COUNTS_SQL, [
      [ep],
      [200],
      500,
      ['high', 'normal', 'low'],
      [false],
    ]);
    assert.deepEqual({ inFlight: counts.in_flight, due: counts.due }, { inFlight: 0, due: [0, 200, 0] });
  });

  /** What the worker's record does to a released delivery: ends it (or schedules a retry in `retryInMs`). */
  async function ended(id: string, status: 'succeeded' | 'failed' | 'pending', retryInMs = 0): Promise<void> {
    await sql(
      url,
      `UPDATE deliveries SET status = $2::delivery_status, released_at = NULL,
              next_attempt_at = CASE WHEN $2 = 'pending' THEN now() + $3::int * interval '1 ms' END,
              completed_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
       WHERE id = $1`,
      [id, status, retryInMs],
    );
  }

  const releasedIds = (published: ReleasedBatch[]) =>
    published.flatMap((b) => b.deliveries.map((d) => d.deliveryId)).sort();

  it('ordered: one delivery per key at a time, the lowest sequence first; unkeyed ones in parallel', async () => {
    const app = await application();
    const ep = await orderedEndpoint(app, 'skip');
    const a = await keyed(app, ep, 'a', 4);
    const b = await keyed(app, ep, 'b', 3);
    await deliveries(app, ep, 2);
    const first = await cycle();
    assert.equal(first.released, 4, 'the two heads and the two unkeyed deliveries');
    assert.ok(releasedIds(first.published).includes(a[0]) && releasedIds(first.published).includes(b[0]));
    assert.equal((await cycle()).released, 0, 'nothing more while the heads are in flight');
    await ended(a[0], 'succeeded');
    assert.deepEqual(releasedIds((await cycle()).published), [a[1]]);
    // A head that fails for good in skip mode ends it: the next of its key goes.
    await ended(b[0], 'failed');
    assert.deepEqual(releasedIds((await cycle()).published), [b[1]]);
  });

  it('ordered: a retrying head holds its key (others go), and says when it falls due', async () => {
    const app = await application();
    const ep = await orderedEndpoint(app, 'skip');
    const a = await keyed(app, ep, 'a', 3);
    const b = await keyed(app, ep, 'b', 2);
    await cycle();
    await ended(a[0], 'pending', 60_000); // retrying in a minute
    await ended(b[0], 'succeeded');
    const c = await cycle();
    assert.deepEqual(releasedIds(c.published), [b[1]], 'key a waits behind its retry; key b goes on');
    const idle = await cycle();
    assert.equal(idle.released, 0);
    assert.ok(idle.nextDueInMs !== null && idle.nextDueInMs > 50_000, `next due ${idle.nextDueInMs}`);
    await sql(url, `UPDATE deliveries SET next_attempt_at = now() WHERE id = $1`, [a[0]]);
    assert.deepEqual(
      releasedIds((await cycle()).published),
      [a[0]],
      'the retry itself, not the next of its key',
    );
  });

  it('ordered: a redelivered earlier delivery waits while a later one of its key is in flight', async () => {
    const app = await application();
    const ep = await orderedEndpoint(app, 'skip');
    const a = await keyed(app, ep, 'a', 3);
    await cycle();
    await ended(a[0], 'succeeded');
    assert.deepEqual(releasedIds((await cycle()).published), [a[1]]);
    await ended(a[0], 'pending'); // redelivered: the lowest sequence again, but a[1] is in flight
    assert.equal((await cycle()).released, 0);
    await ended(a[1], 'succeeded');
    assert.deepEqual(releasedIds((await cycle()).published), [a[0]], 'then the redelivery, before a[2]');
  });

  it('ordered, block: a key whose delivery failed for good waits until it succeeds or is skipped', async () => {
    const app = await application();
    const ep = await orderedEndpoint(app, 'block');
    const a = await keyed(app, ep, 'a', 3);
    const b = await keyed(app, ep, 'b', 3);
    await cycle();
    await ended(a[0], 'failed');
    await ended(b[0], 'failed');
    const blocks = await sql<{ partition_key: string; delivery_id: string }>(
      url,
      `SELECT partition_key, delivery_id FROM partition_blocks WHERE endpoint_id = $1 ORDER BY 1`,
      [ep],
    );
    assert.deepEqual(blocks, [
      { partition_key: 'a', delivery_id: a[0] },
      { partition_key: 'b', delivery_id: b[0] },
    ]);
    assert.equal((await cycle()).released, 0, 'both keys blocked');
    // Redelivered: the blocking delivery itself may go; its success unblocks the key.
    await ended(a[0], 'pending');
    assert.deepEqual(releasedIds((await cycle()).published), [a[0]]);
    await ended(a[0], 'succeeded');
    assert.deepEqual(releasedIds((await cycle()).published), [a[1]]);
    // Skipped (the block removed): the key goes on with the next one.
    await sql(url, `DELETE FROM partition_blocks WHERE endpoint_id = $1 AND partition_key = 'b'`, [ep]);
    assert.deepEqual(releasedIds((await cycle()).published), [b[1]]);
    // Disabling fails every pending delivery: the key's earliest one blocks it.
    await sql(
      url,
      `UPDATE deliveries SET status = 'failed', released_at = NULL WHERE endpoint_id = $1 AND status = 'pending'`,
      [ep],
    );
    const after = await sql<{ partition_key: string; delivery_id: string }>(
      url,
      `SELECT partition_key, delivery_id FROM partition_blocks WHERE endpoint_id = $1 ORDER BY 1`,
      [ep],
    );
    assert.deepEqual(after, [
      { partition_key: 'a', delivery_id: a[1] },
      { partition_key: 'b', delivery_id: b[1] },
    ]);
  });

  it('ordered: heads compete by priority, then due time', async () => {
    const app = await application();
    const ep = await orderedEndpoint(app, 'skip', 1);
    const n = await keyed(app, ep, 'n', 2);
    const h = await keyed(app, ep, 'h', 2, { priority: 'high' });
    assert.deepEqual(releasedIds((await cycle()).published), [h[0]], 'the high head first, though newer');
    await ended(h[0], 'succeeded');
    assert.deepEqual(releasedIds((await cycle()).published), [h[1]]);
    await ended(h[1], 'succeeded');
    assert.deepEqual(releasedIds((await cycle()).published), [n[0]]);
  });

  it('ordered: two dispatchers at once never have two deliveries of one key out', async () => {
    const app = await application();
    const ep = await orderedEndpoint(app, 'skip', 50);
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const order = new Map<string, string[]>();
    for (const k of keys) order.set(k, await keyed(app, ep, k, 8));
    const keyOf = new Map([...order].flatMap(([k, ids]) => ids.map((id) => [id, k] as const)));
    const arrived: string[] = [];
    for (let round = 0; round < 30 && arrived.length < 40; round++) {
      const [x, y] = await Promise.all([cycle(repo), cycle(other)]);
      const out = [...releasedIds(x.published), ...releasedIds(y.published)];
      const perKey = new Map<string, number>();
      for (const id of out) perKey.set(keyOf.get(id)!, (perKey.get(keyOf.get(id)!) ?? 0) + 1);
      assert.ok(
        [...perKey.values()].every((v) => v === 1),
        `two of one key out: ${JSON.stringify([...perKey])}`,
      );
      for (const id of out) {
        arrived.push(id);
        await ended(id, 'succeeded');
      }
    }
    for (const [k, ids] of order) {
      assert.deepEqual(
        arrived.filter((id) => keyOf.get(id) === k),
        ids,
        `key ${k} in sequence order`,
      );
    }
  });
});
