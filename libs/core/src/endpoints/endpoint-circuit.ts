import type { Prisma } from '@tern/database';
import type { CircuitState } from '@tern/delivery-rules';

/**
 * An endpoint's circuit breaker as the API and the pages show it: what the dispatcher last stored in
 * endpoint_states (circuitAtDispatch in @tern/delivery-rules; the vocabulary is CIRCUIT_STATES there).
 * `openedAt`: when the circuit opened (kept while a probe is out); `nextProbeAt`: when a probe may be released
 * (open), or another one if the one out gets no answer (half_open). Both null when closed.
 */
export interface EndpointCircuit {
  state: CircuitState;
  openedAt: Date | null;
  nextProbeAt: Date | null;
}

/** An endpoint the dispatcher has not served yet has no endpoint_states row: its circuit is closed. */
export const CLOSED_ENDPOINT_CIRCUIT: EndpointCircuit = {
  state: 'closed',
  openedAt: null,
  nextProbeAt: null,
};

/** The endpoint_states columns read with an endpoint (a Prisma include of its `state` relation, by primary key). */
export const ENDPOINT_CIRCUIT_INCLUDE = {
  state: { select: { circuitState: true, circuitOpenedAt: true, circuitNextProbeAt: true } },
} as const satisfies Prisma.EndpointInclude;

/** The circuit of an endpoint from its endpoint_states columns (null: no row yet → closed). */
export function circuitOf(
  state: { circuitState: CircuitState; circuitOpenedAt: Date | null; circuitNextProbeAt: Date | null } | null,
): EndpointCircuit {
  if (!state) return CLOSED_ENDPOINT_CIRCUIT;
  return {
    state: state.circuitState,
    openedAt: state.circuitOpenedAt,
    nextProbeAt: state.circuitNextProbeAt,
  };
}
