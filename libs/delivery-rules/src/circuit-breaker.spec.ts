import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertCircuitPolicy,
  circuitAtDispatch,
  CircuitPolicy,
  CLOSED_DISPATCH_CIRCUIT,
} from './circuit-breaker';

const policy: CircuitPolicy = {
  failureThreshold: 3,
  failureMinMs: 5000,
  cooldownMinMs: 30_000,
  cooldownMaxMs: 100_000,
  probeTimeoutMs: 60_000,
};

describe('circuit breaker policy', () => {
  it('rejects impossible policies', () => {
    assert.throws(() => assertCircuitPolicy({ ...policy, failureThreshold: 0 }), RangeError);
    assert.throws(() => assertCircuitPolicy({ ...policy, cooldownMaxMs: 1 }), RangeError);
    assert.throws(() => assertCircuitPolicy({ ...policy, failureMinMs: -1 }), RangeError);
    assert.throws(() => assertCircuitPolicy({ ...policy, probeTimeoutMs: 0 }), RangeError);
  });
});

describe('circuitAtDispatch', () => {
  const policy = {
    failureThreshold: 3,
    failureMinMs: 5000,
    cooldownMinMs: 1000,
    cooldownMaxMs: 4000,
    probeTimeoutMs: 10_000,
  };
  const t0 = new Date('2026-12-07T00:00:00.000Z');
  const at = (ms: number) => new Date(t0.getTime() + ms);
  /** A streak of `failures` that began a minute before t0 (long enough), unless `since` says otherwise. */
  const s = (failures: number, since = at(-60_000)) => ({ failures, since: failures > 0 ? since : null });

  it('stays closed on a streak at the threshold that began less than failureMinMs ago (a chance run)', () => {
    const young = circuitAtDispatch(CLOSED_DISPATCH_CIRCUIT, s(50, at(-4999)), 0, t0, policy);
    assert.deepEqual([young.circuit.state, young.allowance, young.transition], ['closed', Infinity, null]);
    const old = circuitAtDispatch(CLOSED_DISPATCH_CIRCUIT, s(3, at(-5000)), 0, t0, policy);
    assert.deepEqual([old.circuit.state, old.transition], ['open', 'opened']);
    const instant = circuitAtDispatch(CLOSED_DISPATCH_CIRCUIT, s(3, t0), 0, t0, {
      ...policy,
      failureMinMs: 0,
    });
    assert.equal(instant.circuit.state, 'open', 'failureMinMs 0: the count alone opens it');
  });

  it('stays closed below the threshold; opens at it, releasing nothing', () => {
    const below = circuitAtDispatch(CLOSED_DISPATCH_CIRCUIT, s(2), 5, t0, policy);
    assert.deepEqual([below.circuit.state, below.allowance, below.transition], ['closed', Infinity, null]);
    const open = circuitAtDispatch(CLOSED_DISPATCH_CIRCUIT, s(3), 5, t0, policy);
    assert.deepEqual([open.circuit.state, open.allowance, open.transition], ['open', 0, 'opened']);
    assert.equal(open.circuit.nextProbeAt?.getTime(), at(1000).getTime());
  });

  it('open: nothing before the cool-down ends or while anything is in flight; then one probe', () => {
    const { circuit: open } = circuitAtDispatch(CLOSED_DISPATCH_CIRCUIT, s(3), 0, t0, policy);
    const straggled = circuitAtDispatch(open, s(5), 0, at(999), policy);
    assert.equal(straggled.allowance, 0);
    assert.equal(
      straggled.circuit.nextProbeAt?.getTime(),
      open.nextProbeAt?.getTime(),
      'failures of stragglers while open keep the cool-down',
    );
    assert.equal(
      circuitAtDispatch(open, s(5), 2, at(1500), policy).allowance,
      0,
      'stragglers still in flight',
    );
    const p = circuitAtDispatch(open, s(5), 0, at(1500), policy);
    assert.deepEqual([p.circuit.state, p.allowance, p.circuit.probeStreak], ['half_open', 1, 5]);
    // While the probe is out, nothing more.
    assert.equal(circuitAtDispatch(p.circuit, s(5), 1, at(1600), policy).allowance, 0);
  });

  it('half_open: a successful probe closes; a failed one reopens with the cool-down doubled, up to the maximum', () => {
    const { circuit: open } = circuitAtDispatch(CLOSED_DISPATCH_CIRCUIT, s(3), 0, t0, policy);
    const { circuit: half } = circuitAtDispatch(open, s(3), 0, at(1000), policy);
    const ok = circuitAtDispatch(half, s(0), 0, at(1100), policy);
    assert.deepEqual([ok.circuit.state, ok.allowance, ok.transition], ['closed', Infinity, 'closed']);
    let c = half;
    let streak = 3;
    const cooldowns: number[] = [];
    for (let i = 0; i < 4; i++) {
      streak++;
      const r = circuitAtDispatch(c, s(streak), 0, at(10_000 * (i + 1)), policy);
      assert.deepEqual([r.circuit.state, r.allowance, r.transition], ['open', 0, 'reopened']);
      assert.equal(r.circuit.openedAt?.getTime(), t0.getTime(), 'opened-at is when it first opened');
      cooldowns.push(r.circuit.cooldownMs);
      c = circuitAtDispatch(r.circuit, s(streak), 0, r.circuit.nextProbeAt as Date, policy).circuit;
    }
    assert.deepEqual(cooldowns, [2000, 4000, 4000, 4000]);
  });

  it('a probe that never reports (lost) is followed by another after the probe timeout', () => {
    const { circuit: open } = circuitAtDispatch(CLOSED_DISPATCH_CIRCUIT, s(3), 0, t0, policy);
    const { circuit: half } = circuitAtDispatch(open, s(3), 0, at(1000), policy);
    assert.equal(circuitAtDispatch(half, s(3), 0, at(5000), policy).allowance, 0);
    const again = circuitAtDispatch(half, s(3), 0, at(11_001), policy);
    assert.deepEqual([again.circuit.state, again.allowance], ['half_open', 1]);
  });

  it('open: a straggler success (streak back to 0) closes at once', () => {
    const { circuit: open } = circuitAtDispatch(CLOSED_DISPATCH_CIRCUIT, s(3), 4, t0, policy);
    const r = circuitAtDispatch(open, s(0), 3, at(10), policy);
    assert.deepEqual([r.circuit.state, r.transition], ['closed', 'closed']);
  });
});
