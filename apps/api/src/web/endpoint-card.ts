import type { EndpointCircuitView, EndpointStatsView, EndpointView } from '@tern/core';
import type { CircuitState } from '@tern/delivery-rules';
import { badge, healthBlock, idLink, when } from './components';
import { Html, html } from './html';

/** How each circuit state is shown: the badge's colour and words. */
const CIRCUIT_BADGES: Record<CircuitState, { cls: 'ok' | 'warn' | 'bad'; text: string }> = {
  closed: { cls: 'ok', text: 'circuit closed' },
  open: { cls: 'bad', text: 'circuit open' },
  half_open: { cls: 'warn', text: 'circuit half open' },
};

/** The circuit breaker's state as a badge (closed green, half open amber, open red). */
export function circuitBadge(c: EndpointCircuitView): Html {
  const b = CIRCUIT_BADGES[c.state];
  return html`<span class="circuit" data-circuit-state="${c.state}">${badge(b.cls, b.text)}</span>`;
}

/** An open or half-open circuit: since when, what it means, when the next probe may go. Nothing when closed. */
export function circuitNotice(c: EndpointCircuitView): Html {
  if (c.state === 'closed') return html``;
  const opened = when(c.openedAt, { inline: true });
  const probe = when(c.nextProbeAt, { inline: true, empty: 'not scheduled' });
  return html`<p class="notice" data-testid="circuit-notice" data-circuit-state="${c.state}">
    ${
      c.state === 'open'
        ? html`Circuit open since ${opened}: after repeated failed attempts, deliveries wait until a probe
          succeeds. Next probe ${probe}.`
        : html`Circuit half open (opened ${opened}): one probe delivery is out, the others wait for its
          result. Another probe ${probe} if it gets no answer.`
    }
  </p>`;
}

/** The circuit for a settings list: the badge, and when not closed the opened-at and next-probe times. */
export function circuitDetails(c: EndpointCircuitView): Html {
  return c.state === 'closed'
    ? circuitBadge(c)
    : html`${circuitBadge(c)}<br />
        <span class="small">opened ${when(c.openedAt, { inline: true })}</span><br />
        <span class="small"
          >next probe ${when(c.nextProbeAt, { inline: true, empty: 'not scheduled' })}</span
        >`;
}

/** An endpoint's payload filter as it was sent, or "every event" when it has none. */
export function filterText(filter: { text: string } | null): Html {
  return filter
    ? html`<pre class="mono small" data-testid="endpoint-filter">${filter.text}</pre>`
    : html`<span class="faint">none: every event</span>`;
}

export function eventTypesText(types: string[]): Html {
  return types.length
    ? html`${types.map((t, i) => html`${i ? ', ' : ''}<span class="mono">${t}</span>`)}`
    : html`<span>every event type</span>`;
}

/**
 * One endpoint with its health at a glance: URL, state, circuit, 24 h chart, success rate, p50/p95, streak, last
 * error.
 */
export function endpointCard(
  ep: EndpointView,
  stats: EndpointStatsView | null,
  o: { href: string; deliveryHref: (id: string) => string },
): Html {
  return html`<article class="card endpoint" data-endpoint-id="${ep.id}">
    <div class="head">
      <a class="url" href="${o.href}">${ep.url}</a>
      <span>${ep.disabled ? badge('disabled') : badge('enabled')} ${circuitBadge(ep.circuit)}</span>
    </div>
    <div class="meta">
      ${idLink(ep.id)} · ${eventTypesText(ep.eventTypes)}${ep.description ? html` · ${ep.description}` : ''}
    </div>
    ${
      ep.disabled
        ? html`<p class="notice">
            Disabled
            ${when(ep.disabledAt, { inline: true })}${ep.disabledReason ? html`: ${ep.disabledReason}` : ''}.
            It gets no deliveries.
          </p>`
        : ''
    }
    ${circuitNotice(ep.circuit)}
    ${stats ? healthBlock(stats, o.deliveryHref) : html`<p class="faint">No statistics.</p>`}
  </article>`;
}

/** Endpoint cards on one page of the dashboard's application view and the portal's home. */
export const ENDPOINT_CARDS_PER_PAGE = 12;

/** A page of endpoint cards, or `empty` when there are none. */
export function endpointGrid(
  endpoints: EndpointView[],
  stats: (EndpointStatsView | null)[],
  links: { endpoint: (id: string) => string; delivery: (id: string) => string },
  empty: Html,
): Html {
  return endpoints.length
    ? html`<div class="grid">
        ${endpoints.map((ep, i) => endpointCard(ep, stats[i], { href: links.endpoint(ep.id), deliveryHref: links.delivery }))}
      </div>`
    : html`<div class="empty">${empty}</div>`;
}
