import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AppConfig } from '@tern/config';
import { DispatchCycle, DispatchLimits, DispatchRepository, ReleasedBatch } from '@tern/core';
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
});
