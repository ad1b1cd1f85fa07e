import type { EndpointStatsView, EndpointView } from '@tern/core';
import { badge, healthBlock, idLink, when } from './components';
import { Html, html } from './html';

export function eventTypesText(types: string[]): Html {
  return types.length
    ? html`${types.map((t, i) => html`${i ? ', ' : ''}<span class="mono">${t}</span>`)}`
    : html`<span>every event type</span>`;
}

/** One endpoint with its health at a glance: URL, state, 24 h chart, success rate, p50/p95, streak, last error. */
export function endpointCard(
  ep: EndpointView,
  stats: EndpointStatsView | null,
  o: { href: string; deliveryHref: (id: string) => string },
): Html {
  return html`<article class="card endpoint" data-endpoint-id="${ep.id}">
    <div class="head">
      <a class="url" href="${o.href}">${ep.url}</a>
      ${ep.disabled ? badge('disabled') : badge('enabled')}
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
