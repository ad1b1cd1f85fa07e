import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRelease, rateTokensAt, ReleaseCandidate } from './release-plan';

const t0 = new Date('2026-12-07T00:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

function cand(p: Partial<ReleaseCandidate> & { endpointId: string }): ReleaseCandidate {
  return {
    applicationId: 'app_a',
    maxInFlight: 10,
    inFlight: 0,
    due: 1000,
    rateLimitPerSecond: null,
    bucket: { tokens: 0, at: null },
    circuitAllowance: Infinity,
    ...p,
  };
}

const grants = (r: { endpointId: string; n: number }[]) =>
  Object.fromEntries(r.map((x) => [x.endpointId, x.n]));

describe('rateTokensAt', () => {
  it('a bucket never used is full; it refills at the rate, up to one second of tokens', () => {
    assert.equal(rateTokensAt({ tokens: 0, at: null }, 5, t0), 5);
    assert.equal(rateTokensAt({ tokens: 0, at: t0 }, 5, at(200)), 1);
    assert.equal(rateTokensAt({ tokens: 2, at: t0 }, 5, at(10_000)), 5);
    assert.equal(rateTokensAt({ tokens: 1, at: t0 }, 5, at(-50)), 1, 'a clock going back adds nothing');
  });
});

describe('planRelease', () => {
  it('releases up to maxInFlight minus what is in flight, and no more than is due', () => {
    const r = planRelease(
      [
        cand({ endpointId: 'e1', inFlight: 7 }),
        cand({ endpointId: 'e2', due: 3 }),
        cand({ endpointId: 'e3', inFlight: 10 }),
      ],
      1000,
      t0,
    );
    assert.deepEqual(grants(r), { e1: 3, e2: 3 });
  });

  it('an open circuit releases nothing; a probe releases one', () => {
    const r = planRelease(
      [cand({ endpointId: 'open', circuitAllowance: 0 }), cand({ endpointId: 'probe', circuitAllowance: 1 })],
      100,
      t0,
    );
    assert.deepEqual(grants(r), { probe: 1 });
  });

  it('in-flight above the cap (lowered meanwhile) releases nothing', () => {
    assert.deepEqual(planRelease([cand({ endpointId: 'e1', maxInFlight: 2, inFlight: 5 })], 100, t0), []);
  });

  it('a rate-limited endpoint gets its whole tokens only, and reports the tokens it had', () => {
    const r = planRelease(
      [cand({ endpointId: 'e1', maxInFlight: 100, rateLimitPerSecond: 10, bucket: { tokens: 0, at: t0 } })],
      1000,
      at(350),
    );
    assert.equal(r.length, 1);
    assert.equal(r[0].n, 3);
    assert.ok(Math.abs(r[0].tokens - 3.5) < 1e-9);
  });

  it('shares the budget equally between applications, whatever their backlog', () => {
    const r = planRelease(
      [
        cand({ endpointId: 'a1', applicationId: 'A', maxInFlight: 500, due: 50_000 }),
        cand({ endpointId: 'a2', applicationId: 'A', maxInFlight: 500, due: 50_000 }),
        cand({ endpointId: 'b1', applicationId: 'B', maxInFlight: 500, due: 50_000 }),
      ],
      100,
      t0,
    );
    assert.deepEqual(grants(r), { a1: 25, a2: 25, b1: 50 });
  });

  it('an application needing less than its share leaves the rest to the others', () => {
    const r = planRelease(
      [
        cand({ endpointId: 'a1', applicationId: 'A', maxInFlight: 500, due: 50_000 }),
        cand({ endpointId: 'b1', applicationId: 'B', maxInFlight: 500, due: 2 }),
      ],
      100,
      t0,
    );
    assert.deepEqual(grants(r), { a1: 98, b1: 2 });
  });

  it('never exceeds the budget, an endpoint credit or its due work (random cases)', () => {
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let k = 0; k < 300; k++) {
      const cs = Array.from({ length: rnd(8) + 1 }, (_, i) =>
        cand({
          endpointId: `e${i}`,
          applicationId: `app${rnd(3)}`,
          maxInFlight: rnd(20) + 1,
          inFlight: rnd(25),
          due: rnd(30),
          rateLimitPerSecond: rnd(2) ? null : rnd(10) + 1,
          bucket: { tokens: rnd(10), at: t0 },
        }),
      );
      const budget = rnd(60);
      const r = planRelease(cs, budget, at(rnd(3000)));
      assert.ok(r.reduce((s, x) => s + x.n, 0) <= budget);
      for (const x of r) {
        const c = cs.find((y) => y.endpointId === x.endpointId)!;
        assert.ok(x.n >= 1 && x.n <= c.maxInFlight - c.inFlight && x.n <= c.due);
        if (c.rateLimitPerSecond !== null) assert.ok(x.n <= x.tokens);
      }
    }
  });
});
