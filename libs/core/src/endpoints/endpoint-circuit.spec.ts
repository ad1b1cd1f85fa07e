import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitState } from '@tern/database/generated/prisma/enums';
import { CIRCUIT_STATES } from '@tern/delivery-rules';
import { circuitOf } from './endpoint-circuit';

describe('endpoint circuit', () => {
  it('CIRCUIT_STATES are the values of the circuit_state enum', () => {
    assert.deepEqual([...CIRCUIT_STATES].sort(), Object.values(CircuitState).sort());
  });

  it('an endpoint without an endpoint_states row is closed, with no times', () => {
    assert.deepEqual(circuitOf(null), { state: 'closed', openedAt: null, nextProbeAt: null });
  });

  it('reads the stored state and times', () => {
    const openedAt = new Date('2026-12-07T10:00:00Z');
    const nextProbeAt = new Date('2026-12-07T10:00:30Z');
    assert.deepEqual(
      circuitOf({ circuitState: 'open', circuitOpenedAt: openedAt, circuitNextProbeAt: nextProbeAt }),
      { state: 'open', openedAt, nextProbeAt },
    );
  });
});
