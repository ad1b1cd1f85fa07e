import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FanOutEvent, FilteredEndpoint, filteredOutPairs } from './fan-out-filter';
import { CompiledFilter, validateFilter } from './payload-filter';

function compile(filter: unknown): CompiledFilter {
  const r = validateFilter(filter);
  assert.ok(r.ok);
  return r.filter;
}

const paidOnly: FilteredEndpoint = {
  endpointId: 'ep_paid',
  eventTypes: [],
  filter: compile({ 'data.status': 'paid' }),
};
const bigOrders: FilteredEndpoint = {
  endpointId: 'ep_big',
  eventTypes: ['order.created'],
  filter: compile({ 'data.total': { $gte: 100 } }),
};

function event(id: string, applicationId: string, eventType: string, payload: unknown): FanOutEvent {
  return { id, applicationId, eventType, payloadJson: JSON.stringify(payload) };
}

describe('filteredOutPairs', () => {
  const filters = new Map<string, FilteredEndpoint[]>([['app_a', [paidOnly, bigOrders]]]);
  const of = (app: string) => filters.get(app) ?? [];

  it('leaves out the pairs whose filter does not match, and only those', () => {
    const r = filteredOutPairs(
      [
        event('evt_1', 'app_a', 'order.created', { status: 'paid', total: 5 }),
        event('evt_2', 'app_a', 'order.created', { status: 'open', total: 500 }),
        event('evt_3', 'app_a', 'order.created', { status: 'paid', total: 500 }),
      ],
      of,
    );
    assert.deepEqual(r, { eventIds: ['evt_1', 'evt_2'], endpointIds: ['ep_big', 'ep_paid'] });
  });

  it('skips endpoints not subscribed to the type (the fan-out would not reach them)', () => {
    const r = filteredOutPairs([event('evt_1', 'app_a', 'order.voided', { status: 'open' })], of);
    assert.deepEqual(r, { eventIds: ['evt_1'], endpointIds: ['ep_paid'] });
  });

  it('excludes nothing for applications without filters and does not parse their payloads', () => {
    const r = filteredOutPairs(
      [{ id: 'evt_1', applicationId: 'app_b', eventType: 'x', payloadJson: 'not json' }],
      of,
    );
    assert.deepEqual(r, { eventIds: [], endpointIds: [] });
  });

  it('delivers an unreadable payload rather than dropping it', () => {
    const r = filteredOutPairs(
      [{ id: 'evt_1', applicationId: 'app_a', eventType: 'order.created', payloadJson: '{' }],
      of,
    );
    assert.deepEqual(r, { eventIds: [], endpointIds: [] });
  });

  it('matches against the type as well as the data', () => {
    const byType: FilteredEndpoint = {
      endpointId: 'ep_t',
      eventTypes: [],
      filter: compile({ type: { $startsWith: 'invoice.' } }),
    };
    const r = filteredOutPairs(
      [event('evt_1', 'app_c', 'invoice.paid', {}), event('evt_2', 'app_c', 'order.paid', {})],
      () => [byType],
    );
    assert.deepEqual(r, { eventIds: ['evt_2'], endpointIds: ['ep_t'] });
  });
});
