import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AppConfig } from '@tern/config';
import { AttemptRecord, ClaimedDelivery, DeliveryAttemptsRepository, ExpiredClaim, newId } from '@tern/core';
import { PrismaService } from '@tern/database';
import { advanceFailureStreak, FailureStreak } from '@tern/delivery-rules';
import { releaseForTest } from '../support/release';
import { createScratchDatabase, sql } from '../support/scratch-db';

/**
 * The claim and record statements against a real database (the middle tier: no API, no worker). Each case seeds
 * one delivery and drives the repository directly.
 */
describe('DeliveryAttemptsRepository: claim and record', () => {
  let url: string;
  let drop: () => Promise<void>;
  let prisma: PrismaService;
  let repo: DeliveryAttemptsRepository;
  let applicationId: string;
  let endpointId: string;
  const LOST_AFTER_MS = 60_000;

  before(async () => {
    ({ url, drop } = await createScratchDatabase('attempts_repo'));
    prisma = new PrismaService({ DATABASE_URL: url, DATABASE_POOL_SIZE: 2 } as AppConfig);
    repo = new DeliveryAttemptsRepository(prisma, {
      DELIVERY_DEADLINE_SECONDS: 86_400,
      ENDPOINT_RECOVERED_AFTER_FAILURES: 2,
    } as AppConfig);
    [{ id: applicationId }] = await sql<{ id: string }>(
      url,
      `INSERT INTO applications (name) VALUES ('repo test') RETURNING id`,
    );
    [{ id: endpointId }] = await sql<{ id: string }>(
      url,
      `INSERT INTO endpoints (application_id, url) VALUES ($1, 'https://receiver.example.com/hook') RETURNING id`,
      [applicationId],
    );
  });
  after(async () => {
    await prisma?.$disconnect();
    await drop?.();
  });

  /** A pending delivery; `due` and `deadline` are offsets from now in ms. */
  async function pending(
    o: { dueInMs?: number; deadlineInMs?: number; app?: string; endpoint?: string } = {},
  ): Promise<string> {
    const eventId = newId('evt');
    const id = newId('dlv');
    await sql(
      url,
      `INSERT INTO events (id, application_id, event_type, payload) VALUES ($1, $2, 'a.b', '{"x":1}')`,
      [eventId, o.app ?? applicationId],
    );
    await sql(
      url,
      `INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, next_attempt_at,
                               deadline_at)
       VALUES ($1, $2, $3, $4, 'a.b', 'pending', now() + $5::int * interval '1 ms', now() + $6::int * interval '1 ms')`,
      [
        id,
        o.app ?? applicationId,
        eventId,
        o.endpoint ?? endpointId,
        o.dueInMs ?? 0,
        o.deadlineInMs ?? 86_400_000,
      ],
    );
    return id;
  }

  const release = (ids: string[]) => releaseForTest(url, ids);

  async function claimOne(id: string, lostAfterMs = LOST_AFTER_MS) {
    const [c] = await repo.claim(await release([id]), lostAfterMs);
    return c;
  }

  function asClaimed(c: ClaimedDelivery | ExpiredClaim | null): ClaimedDelivery {
    assert.ok(c && 'claimToken' in c, `expected a claim, got ${JSON.stringify(c)}`);
    return c;
  }

  function result(c: ClaimedDelivery, outcome: AttemptRecord['outcome'] = 'succeeded'): AttemptRecord {
    return {
      deliveryId: c.deliveryId,
      applicationId: c.applicationId,
      endpointId: c.endpointId,
      eventId: c.eventId,
      number: c.attemptNumber,
      claimToken: c.claimToken,
      startedAt: new Date(),
      durationMs: 5,
      url: 'https://receiver.example.com/hook',
      requestHeaders: {},
      responseStatus: outcome === 'succeeded' ? 200 : 500,
      responseHeaders: {},
      responseBody: 'ok',
      errorClass: null,
      errorMessage: null,
      outcome,
      nextAttemptAt: outcome === 'retrying' ? new Date(Date.now() + 1000) : null,
      lastError: outcome === 'succeeded' ? null : 'http_500',
    };
  }

  async function row(id: string) {
    const [d] = await sql<{ status: string; attempt_count: number; in_flight: boolean }>(
      url,
      `SELECT status::text, attempt_count, in_flight_since IS NOT NULL AS in_flight FROM deliveries WHERE id = $1`,
      [id],
    );
    const attempts = await sql<{ number: number; outcome: string }>(
      url,
      `SELECT number, outcome::text FROM attempts WHERE delivery_id = $1 ORDER BY number, created_at`,
      [id],
    );
    return { ...d, attempts };
  }

  it('a second claim while an attempt is in flight (younger than the cutoff) gets nothing, not a takeover', async () => {
    const id = await pending();
    asClaimed(await claimOne(id));
    assert.equal(await claimOne(id), null);
    const r = await row(id);
    assert.equal(r.attempt_count, 1, 'no second attempt numbered');
    assert.deepEqual(r.attempts, [], 'nothing logged as interrupted');
  });

  it('the same delivery twice in one claim batch is claimed once', async () => {
    const id = await pending();
    const [first, second] = await repo.claim(await release([id, id]), LOST_AFTER_MS);
    assert.equal(asClaimed(first).attemptNumber, 1);
    assert.equal(second, null);
    assert.equal((await row(id)).attempt_count, 1);
  });

  it('past the cutoff a claim takes over and logs the previous attempt as interrupted', async () => {
    const id = await pending();
    asClaimed(await claimOne(id));
    const second = asClaimed(await claimOne(id, 0));
    assert.equal(second.attemptNumber, 2);
    assert.equal(second.previousInterrupted, true);
    assert.deepEqual((await row(id)).attempts, [{ number: 1, outcome: 'interrupted' }]);
  });

  it('a delivery not due yet (next_attempt_at ahead, e.g. Retry-After) is not claimed', async () => {
    const id = await pending({ dueInMs: 30_000 });
    assert.equal(await claimOne(id), null);
    assert.equal((await row(id)).attempt_count, 0);
  });

  it('a stale job (its release no longer in force, or no token at all) claims nothing', async () => {
    const id = await pending();
    const [old] = await release([id]);
    await sql(url, `UPDATE deliveries SET released_at = released_at + interval '1 second' WHERE id = $1`, [
      id,
    ]);
    assert.deepEqual(await repo.claim([old], LOST_AFTER_MS), [null]);
    assert.deepEqual(await repo.claim([{ deliveryId: id, releaseToken: '' }], LOST_AFTER_MS), [null]);
    assert.equal((await row(id)).attempt_count, 0);
    asClaimed(await claimOne(id));
  });

  it('a job that reaches the claim before its release commits waits for the commit and claims', async () => {
    const id = await pending();
    const { claim } = await prisma.$transaction(async (t) => {
      const [r] = await t.$queryRawUnsafe<{ token: string }[]>(
        `UPDATE deliveries SET released_at = now() WHERE id = $1 RETURNING released_at::text AS token`,
        id,
      );
      // The job is added before the commit (as the dispatcher does): a worker claims it at once, and waits.
      const pendingClaim = repo.claim([{ deliveryId: id, releaseToken: r.token }], LOST_AFTER_MS);
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { claim: pendingClaim };
    });
    const [c] = await claim;
    assert.equal(asClaimed(c).attemptNumber, 1);
  });

  it('a rolled-back release leaves its job nothing to claim', async () => {
    const id = await pending();
    let token = '';
    await prisma
      .$transaction(async (t) => {
        [{ token }] = await t.$queryRawUnsafe<{ token: string }[]>(
          `UPDATE deliveries SET released_at = now() WHERE id = $1 RETURNING released_at::text AS token`,
          id,
        );
        throw new Error('addBulk failed');
      })
      .catch(() => undefined);
    assert.deepEqual(await repo.claim([{ deliveryId: id, releaseToken: token }], LOST_AFTER_MS), [null]);
    assert.equal((await row(id)).attempt_count, 0);
  });

  it('releaseLost: a release whose attempt never started comes back; one with an attempt in flight stays', async () => {
    const lost = await pending();
    const working = await pending();
    await release([lost]);
    asClaimed(await claimOne(working));
    const inAMinute = new Date(Date.now() + 60_000);
    const n = await repo.releaseLost(inAMinute, new Date(Date.now() - 60_000), 100);
    assert.ok(n >= 1);
    const [a, b] = await sql<{ id: string; released: boolean }>(
      url,
      `SELECT id, released_at IS NOT NULL AS released FROM deliveries WHERE id = ANY($1) ORDER BY id = $2 DESC`,
      [[lost, working], lost],
    );
    assert.deepEqual(
      [a, b],
      [
        { id: lost, released: false },
        { id: working, released: true },
      ],
    );
  });

  it('past its deadline: failed when nothing is in flight, left to the attempt in flight otherwise', async () => {
    const idle = await pending({ deadlineInMs: -1000 });
    const c = await claimOne(idle);
    assert.ok(c && 'expired' in c, `expected expired, got ${JSON.stringify(c)}`);
    assert.equal((await row(idle)).status, 'failed');

    const busy = await pending({ deadlineInMs: 300 });
    asClaimed(await claimOne(busy));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await claimOne(busy), null);
    assert.equal((await row(busy)).status, 'pending', 'the attempt in flight still decides');
  });

  it('the result of the current claim moves the delivery on', async () => {
    const id = await pending();
    const c = asClaimed(await claimOne(id));
    assert.deepEqual((await repo.record([result(c)])).applied, [true]);
    const r = await row(id);
    assert.equal(r.status, 'succeeded');
    assert.equal(r.in_flight, false);
  });

  it('a late result of an attempt superseded by a redelivery is logged and decides nothing', async () => {
    const id = await pending();
    const stale = asClaimed(await claimOne(id));
    // Meanwhile: the endpoint was disabled (delivery failed, attempt count kept) and a redelivery re-queued it.
    await sql(url, `UPDATE deliveries SET status = 'failed', completed_at = now() WHERE id = $1`, [id]);
    await sql(
      url,
      `UPDATE deliveries SET status = 'pending', next_attempt_at = now(), attempt_base = attempt_count,
              completed_at = NULL, in_flight_since = NULL WHERE id = $1`,
      [id],
    );
    assert.deepEqual((await repo.record([result(stale, 'failed')])).applied, [false]);
    const r = await row(id);
    assert.equal(r.status, 'pending', 'the redelivery is still to be attempted');
    assert.deepEqual(r.attempts, [{ number: 1, outcome: 'superseded' }], 'the late result is on record');
    const fresh = asClaimed(await claimOne(id));
    assert.equal(fresh.attemptNumber, 2);
  });

  it('a 2xx that lands after a takeover is logged superseded: the delivery has one success, by the new attempt', async () => {
    const id = await pending();
    const late = asClaimed(await claimOne(id));
    const takeover = asClaimed(await claimOne(id, 0));
    assert.deepEqual((await repo.record([result(takeover)])).applied, [true]);
    assert.deepEqual((await repo.record([result(late)])).applied, [false]);
    const r = await row(id);
    assert.equal(r.status, 'succeeded');
    assert.deepEqual(r.attempts, [
      { number: 1, outcome: 'interrupted' },
      { number: 1, outcome: 'superseded' },
      { number: 2, outcome: 'succeeded' },
    ]);
    const [kept] = await sql<{ response_status: number }>(
      url,
      `SELECT response_status FROM attempts WHERE delivery_id = $1 AND outcome = 'superseded'`,
      [id],
    );
    assert.equal(kept.response_status, 200, 'what the receiver answered is kept');
  });

  describe('operational events are written with the change they report (same transaction, no Redis)', () => {
    let app: string;
    let standard: string;
    let operational: string;

    before(async () => {
      [{ id: app }] = await sql<{ id: string }>(
        url,
        `INSERT INTO applications (name) VALUES ('ops') RETURNING id`,
      );
      [{ id: standard }] = await sql<{ id: string }>(
        url,
        `INSERT INTO endpoints (application_id, url) VALUES ($1, 'https://a.example.com/hook') RETURNING id`,
        [app],
      );
      [{ id: operational }] = await sql<{ id: string }>(
        url,
        `INSERT INTO endpoints (application_id, url, kind) VALUES ($1, 'https://ops.example.com/', 'operational')
         RETURNING id`,
        [app],
      );
    });

    /** The application's operational events of a type, with their deliveries and how many are releasable. */
    async function opsEvents(type: string) {
      return sql<{ payload: string; deliveries: number; releasable: number }>(
        url,
        `SELECT e.payload,
                (SELECT count(*) FROM deliveries d WHERE d.event_id = e.id AND d.endpoint_id = $3)::int AS deliveries,
                (SELECT count(*) FROM deliveries d
                  WHERE d.event_id = e.id AND d.status = 'pending' AND d.released_at IS NULL
                    AND d.next_attempt_at <= now())::int AS releasable
         FROM events e WHERE e.application_id = $1 AND e.event_type = $2 ORDER BY e.created_at, e.id`,
        [app, type, operational],
      );
    }

    async function attemptOnce(outcome: AttemptRecord['outcome']) {
      const id = await pending({ app, endpoint: standard });
      const c = asClaimed(await claimOne(id));
      return { id, result: await repo.record([result(c, outcome)]) };
    }

    it('a delivery that ends failed → delivery.failed, its delivery (releasable), in the record transaction', async () => {
      const { id, result: r } = await attemptOnce('failed');
      assert.deepEqual(r.applied, [true]);
      assert.ok(r.operationalEvents.includes('delivery.failed'));
      const evs = (await opsEvents('delivery.failed')).filter((e) => e.payload.includes(id));
      assert.equal(evs.length, 1);
      assert.equal(evs[0].deliveries, 1);
      assert.equal(evs[0].releasable, 1);
      const p = JSON.parse(evs[0].payload);
      assert.equal(p.deliveryId, id);
      assert.equal(p.endpointId, standard);
      assert.equal(p.lastError, 'http_500');
      assert.equal(p.attempts, 1);
      assert.match(p.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    it('the failure streak lives on the endpoint row: failures, then a success → endpoint.recovered once', async () => {
      await sql(url, `UPDATE endpoints SET failure_streak = 0, reenabled_at = NULL WHERE id = $1`, [
        standard,
      ]);
      const before = (await opsEvents('endpoint.recovered')).length;
      await attemptOnce('retrying');
      await attemptOnce('failed');
      const [{ failure_streak }] = await sql<{ failure_streak: number }>(
        url,
        `SELECT failure_streak FROM endpoints WHERE id = $1`,
        [standard],
      );
      assert.equal(failure_streak, 2, 'both failures counted in Postgres');
      const ok = await attemptOnce('succeeded');
      assert.deepEqual(ok.result.operationalEvents, ['endpoint.recovered']);
      const evs = await opsEvents('endpoint.recovered');
      assert.equal(evs.length, before + 1);
      const p = JSON.parse(evs[evs.length - 1].payload);
      assert.deepEqual(
        { endpointId: p.endpointId, reason: p.reason, failedAttempts: p.failedAttempts },
        { endpointId: standard, reason: 'failure_streak', failedAttempts: 2 },
      );
      assert.equal(evs[evs.length - 1].releasable, 1);
      await attemptOnce('succeeded');
      assert.equal((await opsEvents('endpoint.recovered')).length, before + 1, 'announced once');
    });

    it('failing_since: set by the failure that starts a streak, kept while it lasts, reset by a success', async () => {
      await sql(
        url,
        `UPDATE endpoints SET failure_streak = 0, failing_since = NULL, reenabled_at = NULL WHERE id = $1`,
        [standard],
      );
      const since = async () =>
        (
          await sql<{ failing_since: Date | null; recent: boolean | null }>(
            url,
            `SELECT failing_since, failing_since > now() - interval '1 min' AS recent FROM endpoints WHERE id = $1`,
            [standard],
          )
        )[0];
      await attemptOnce('retrying');
      assert.equal((await since()).recent, true, 'the first failure starts the streak now');
      // Moved back an hour, so what follows shows whether it is kept or restarted.
      await sql(url, `UPDATE endpoints SET failing_since = now() - interval '1 hour' WHERE id = $1`, [
        standard,
      ]);
      await attemptOnce('retrying');
      assert.equal((await since()).recent, false, 'a further failure keeps when the streak began');
      // A success then a failure in one record: the streak restarted, even though its length (1) did not change.
      await sql(url, `UPDATE endpoints SET failure_streak = 1 WHERE id = $1`, [standard]);
      const ids = [await pending({ app, endpoint: standard }), await pending({ app, endpoint: standard })];
      const claims = await Promise.all(ids.map(async (id) => asClaimed(await claimOne(id))));
      await repo.record([result(claims[0], 'succeeded'), result(claims[1], 'retrying')]);
      const restarted = await since();
      assert.equal(restarted.recent, true, 'restarted by the success in the same record');
      await attemptOnce('succeeded');
      assert.equal((await since()).failing_since, null, 'a success clears it');
    });

    it('a re-enabled endpoint announces endpoint.recovered (re_enabled) on its next success', async () => {
      await sql(url, `UPDATE endpoints SET failure_streak = 0, reenabled_at = now() WHERE id = $1`, [
        standard,
      ]);
      const ok = await attemptOnce('succeeded');
      assert.deepEqual(ok.result.operationalEvents, ['endpoint.recovered']);
      const evs = await opsEvents('endpoint.recovered');
      assert.equal(JSON.parse(evs[evs.length - 1].payload).reason, 're_enabled');
      const [{ reenabled }] = await sql<{ reenabled: boolean }>(
        url,
        `SELECT reenabled_at IS NOT NULL AS reenabled FROM endpoints WHERE id = $1`,
        [standard],
      );
      assert.equal(reenabled, false);
    });

    it('the streak SQL agrees with advanceFailureStreak on random batches over two endpoints', async () => {
      const [{ id: second }] = await sql<{ id: string }>(
        url,
        `INSERT INTO endpoints (application_id, url) VALUES ($1, 'https://b.example.com/hook') RETURNING id`,
        [app],
      );
      const threshold = 2; // the repository's ENDPOINT_RECOVERED_AFTER_FAILURES above
      let seed = 7;
      const rand = (n: number) => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed % n;
      };
      const outcomes: AttemptRecord['outcome'][] = ['succeeded', 'retrying', 'failed'];
      for (let trial = 0; trial < 60; trial++) {
        const start = new Map<string, FailureStreak>();
        for (const ep of [standard, second]) {
          const s = { failures: rand(4), reenabled: rand(3) === 0 };
          start.set(ep, s);
          await prisma.$executeRawUnsafe(
            `UPDATE endpoints SET failure_streak = $2,
                    reenabled_at = CASE WHEN $3::boolean THEN now() END WHERE id = $1`,
            ep,
            s.failures,
            s.reenabled,
          );
        }
        const eps = Array.from({ length: rand(9) }, () => (rand(2) ? standard : second));
        const ids = eps.map(() => newId('dlv'));
        const events = eps.map(() => newId('evt'));
        await prisma.$executeRawUnsafe(
          `INSERT INTO events (id, application_id, event_type, payload) SELECT unnest($1::text[]), $2, 'a.b', '{}'`,
          events,
          app,
        );
        await prisma.$executeRawUnsafe(
          `INSERT INTO deliveries (id, application_id, event_id, endpoint_id, event_type, status, next_attempt_at,
                                   deadline_at)
           SELECT d, $2, e, ep, 'a.b', 'pending', now(), now() + interval '1 day'
           FROM unnest($1::text[], $3::text[], $4::text[]) AS u(d, e, ep)`,
          ids,
          app,
          events,
          eps,
        );
        const batch = (await repo.claim(await release(ids), LOST_AFTER_MS)).map((c) =>
          result(asClaimed(c), outcomes[rand(3)]),
        );
        const [{ t0 }] = await prisma.$queryRawUnsafe<{ t0: Date }[]>(`SELECT now() AS t0`);
        await repo.record(batch);
        for (const ep of [standard, second]) {
          const expected = advanceFailureStreak(
            start.get(ep) as FailureStreak,
            batch.filter((r) => r.endpointId === ep).map((r) => r.outcome === 'succeeded'),
            threshold,
          );
          const [stored] = await prisma.$queryRawUnsafe<{ failures: number; reenabled: boolean }[]>(
            `SELECT failure_streak AS failures, reenabled_at IS NOT NULL AS reenabled FROM endpoints WHERE id = $1`,
            ep,
          );
          const context = `trial ${trial}, ${ep === standard ? 'a' : 'b'}: ${JSON.stringify({
            start: start.get(ep),
            batch: batch.filter((r) => r.endpointId === ep).map((r) => r.outcome),
          })}`;
          assert.deepEqual(stored, expected.streak, context);
          const announced = await prisma.$queryRawUnsafe<{ payload: string }[]>(
            `SELECT payload FROM events WHERE application_id = $1 AND event_type = 'endpoint.recovered'
               AND created_at >= $2 AND payload::jsonb ->> 'endpointId' = $3`,
            app,
            t0,
            ep,
          );
          const got = announced
            .map((e) => JSON.parse(e.payload))
            .map((p) => `${p.reason}:${p.failedAttempts}`)
            .sort();
          const want = expected.recoveries.map((r) => `${r.reason}:${r.failedAttempts}`).sort();
          assert.deepEqual(got, want, context);
        }
      }
    });

    it('a claim past the deadline and the deadline sweep write delivery.failed with the failure', async () => {
      const atClaim = await pending({ app, endpoint: standard, deadlineInMs: -1000 });
      const c = await claimOne(atClaim);
      assert.deepEqual(c, { expired: { deliveryId: atClaim, announced: true } });
      const swept = await pending({ app, endpoint: standard, deadlineInMs: -1000 });
      const failed = await repo.failPastDeadline(new Date(), 100);
      assert.deepEqual(
        failed.filter((f) => f.deliveryId === swept),
        [{ deliveryId: swept, announced: true }],
      );
      const evs = await opsEvents('delivery.failed');
      for (const id of [atClaim, swept]) {
        const e = evs.find((x) => JSON.parse(x.payload).deliveryId === id);
        assert.ok(e, `delivery.failed for ${id}`);
        assert.equal(JSON.parse(e.payload).lastError, 'deadline_exceeded');
        assert.equal(e.deliveries, 1);
      }
    });

    it('nothing is written for an application without an operational endpoint, or about operational endpoints', async () => {
      const { result: r } = await attemptOnce('failed');
      assert.ok(r.operationalEvents.length > 0);
      const quiet = await pending({ deadlineInMs: -1000 }); // the first application has no operational endpoint
      assert.deepEqual(await claimOne(quiet), { expired: { deliveryId: quiet, announced: false } });
      const id = await pending({ app, endpoint: operational });
      const c = asClaimed(await claimOne(id));
      assert.deepEqual((await repo.record([result(c, 'failed')])).operationalEvents, []);
    });
  });
});
