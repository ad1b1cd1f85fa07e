import { CompiledFilter, matchFilter } from './payload-filter';

/**
 * Which (event, endpoint) pairs of a fan-out an endpoint's payload filter leaves out. Pure: the fan-out statement
 * receives the pairs and writes no delivery for them (events.repository.ts), after checking that the filters used
 * here are still the endpoints' (endpoint-filter.sql.ts).
 */

/** An event about to be fanned out: its id, application, type and payload text (parsed only when needed). */
export interface FanOutEvent {
  id: string;
  applicationId: string;
  eventType: string;
  payloadJson: string;
}

/** An endpoint with a filter, as the fan-out knows it. */
export interface FilteredEndpoint {
  endpointId: string;
  /** Empty = every event type (as endpoints.event_types). */
  eventTypes: readonly string[];
  filter: CompiledFilter;
}

/** The pairs to leave out, as two parallel arrays (the statement's parameters). */
export interface FanOutExclusions {
  eventIds: string[];
  endpointIds: string[];
}

/**
 * The pairs whose endpoint is subscribed to the event's type and whose filter does not match it. Each payload is
 * parsed at most once, and only if a filtered endpoint is subscribed to its event. A payload that cannot be parsed
 * (never the case for a payload the API accepted) is matched by no filter's exclusion: it is delivered.
 */
export function filteredOutPairs(
  events: readonly FanOutEvent[],
  filtersOf: (applicationId: string) => readonly FilteredEndpoint[],
): FanOutExclusions {
  const out: FanOutExclusions = { eventIds: [], endpointIds: [] };
  for (const event of events) {
    const endpoints = filtersOf(event.applicationId);
    if (endpoints.length === 0) continue;
    let data: unknown;
    let parsed = false;
    for (const ep of endpoints) {
      if (ep.eventTypes.length > 0 && !ep.eventTypes.includes(event.eventType)) continue;
      if (!parsed) {
        data = parsePayload(event.payloadJson);
        parsed = true;
      }
      if (data === UNREADABLE) break;
      if (!matchFilter(ep.filter, { type: event.eventType, data })) {
        out.eventIds.push(event.id);
        out.endpointIds.push(ep.endpointId);
      }
    }
  }
  return out;
}

const UNREADABLE = Symbol('unreadable payload');

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return UNREADABLE;
  }
}
