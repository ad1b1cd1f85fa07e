import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointCircuitView, EndpointView } from '@tern/core';
import { CIRCUIT_STATES } from '@tern/delivery-rules';
import { circuitBadge, circuitDetails, circuitNotice, endpointCard } from './endpoint-card';

const CLOSED: EndpointCircuitView = { state: 'closed', openedAt: null, nextProbeAt: null };
const OPEN: EndpointCircuitView = {
  state: 'open',
  openedAt: '2026-12-07T10:00:00.000Z',
  nextProbeAt: '2026-12-07T10:00:30.000Z',
};

function endpoint(circuit: EndpointCircuitView): EndpointView {
  return {
    id: 'ep_019a2b3c4d5e6f708192a3b4c5d6',
    applicationId: 'app_019a2b3c4d5e6f708192a3b4c5d6',
    url: 'https://example.com/hooks',
    kind: 'standard',
    description: '',
    eventTypes: [],
    disabled: false,
    disabledReason: null,
    disabledAt: null,
    rateLimitPerSecond: null,
    maxInFlight: null,
    headers: {},
    filter: null,
    ordering: 'none',
    onFailure: 'skip',
    circuit,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
  };
}

describe('endpoint circuit on the pages', () => {
  it('a badge for every state, coloured by how bad it is', () => {
    const cls = { closed: 'b-ok', open: 'b-bad', half_open: 'b-warn' } as const;
    for (const state of CIRCUIT_STATES) {
      const out = circuitBadge({ ...OPEN, state }).value;
      assert.match(out, new RegExp(`data-circuit-state="${state}"`));
      assert.match(out, new RegExp(`class="badge ${cls[state]}"`));
    }
  });

  it('closed: the badge only, no times and no notice', () => {
    assert.equal(circuitNotice(CLOSED).value, '');
    assert.doesNotMatch(circuitDetails(CLOSED).value, /opened|next probe/);
  });

  it('open and half open: when it opened and when the next probe goes', () => {
    for (const state of ['open', 'half_open'] as const) {
      for (const out of [circuitNotice({ ...OPEN, state }).value, circuitDetails({ ...OPEN, state }).value]) {
        assert.ok(out.includes(`datetime="${OPEN.openedAt}"`), `${state}: opened at`);
        assert.ok(out.includes(`datetime="${OPEN.nextProbeAt}"`), `${state}: next probe`);
      }
    }
  });

  it('the endpoint card shows the state, and the notice when not closed', () => {
    const links = { href: '/x', deliveryHref: (id: string) => `/d/${id}` };
    const closed = endpointCard(endpoint(CLOSED), null, links).value;
    assert.match(closed, /data-circuit-state="closed"/);
    assert.doesNotMatch(closed, /circuit-notice/);
    const open = endpointCard(endpoint(OPEN), null, links).value;
    assert.match(open, /data-testid="circuit-notice" data-circuit-state="open"/);
    assert.match(open, /Circuit open since/);
  });
});
