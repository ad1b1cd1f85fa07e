import { buildBody } from '@tern/core';
import type { AttemptView, DeliveryDetailView, DeliveryView } from '@tern/core';
import {
  badge,
  csrfField,
  headersTable,
  idLink,
  kv,
  millis,
  pageHead,
  payloadText,
  prettyBody,
  when,
} from './components';
import { Html, html } from './html';

/** Where ids link to; absent = shown without a link. */
export interface DeliveryLinks {
  delivery: (id: string) => string;
  event?: (id: string) => string;
  endpoint?: (id: string) => string;
  application?: (id: string) => string;
}

/** The body Tern POSTs, rebuilt from the stored event: byte for byte what was sent. */
function requestBody(d: DeliveryDetailView): string {
  return buildBody({
    eventType: d.event.eventType,
    eventCreatedAt: new Date(d.event.createdAt),
    payloadJson: d.event.payload.text,
  });
}

function attemptBlock(a: AttemptView, d: DeliveryDetailView, open: boolean): Html {
  const status = a.responseStatus !== null ? `HTTP ${a.responseStatus}` : (a.errorClass ?? 'no response');
  return html`<details
    class="attempt o-${a.outcome}"
    ${open ? 'open' : ''}
    data-attempt="${a.number}"
    data-outcome="${a.outcome}"
  >
    <summary>
      <span class="n">#${a.number}</span>
      ${badge(a.outcome)}
      <strong>${status}</strong>
      <span class="muted">${millis(a.durationMs)}</span>
      ${when(a.startedAt, { inline: true })}
    </summary>
    <div class="attempt-body">
      <div>
        <h3>Request</h3>
        <p class="mono small">POST ${a.url}</p>
        <h3>Request headers</h3>
        ${headersTable(a.requestHeaders)}
        <h3>Request body</h3>
        <pre>${requestBody(d)}</pre>
      </div>
      <div>
        <h3>Response</h3>
        ${
          a.responseStatus !== null
            ? html`<p>
                ${badge(a.responseStatus < 300 ? 'ok' : 'bad', `HTTP ${a.responseStatus}`)} after
                ${millis(a.durationMs)}
              </p>`
            : html`<p class="muted">
                No HTTP response${a.durationMs !== null ? ` (gave up after ${millis(a.durationMs)})` : ''}.
              </p>`
        }
        ${
          a.errorClass || (a.errorMessage && a.errorMessage !== `HTTP ${a.responseStatus}`)
            ? html`<h3>Error</h3>
                <div class="error-box">
                  <strong class="mono">${a.errorClass ?? 'error'}</strong> ${a.errorMessage ?? ''}
                </div>`
            : ''
        }
        ${
          a.responseStatus !== null
            ? html`<h3>Response headers</h3>
                ${headersTable(a.responseHeaders)}
                <h3>Response body</h3>
                ${prettyBody(a.responseBody)}`
            : ''
        }
      </div>
    </div>
  </details>`;
}

export interface DeliveryPageOptions {
  links: DeliveryLinks;
  /** Where the Redeliver form posts; absent = no button. */
  redeliverAction?: string;
  redeliverLabel?: string;
  csrf: string | null;
  showApplication: boolean;
}

export function deliveryPage(d: DeliveryDetailView, o: DeliveryPageOptions): Html {
  const attempts = [...d.attempts].sort((a, b) => b.number - a.number);
  const pending = d.status === 'pending';
  const l = o.links;
  const redeliver = o.redeliverAction
    ? pending
      ? html`<button
            class="btn"
            type="button"
            disabled
            title="Only succeeded or failed deliveries can be sent again"
          >
            ${o.redeliverLabel ?? 'Redeliver'}
          </button>
          <span class="muted small"
            >${d.inFlightSince ? 'An attempt is in progress' : 'An attempt is scheduled'}</span
          >`
      : html`<form method="post" action="${o.redeliverAction}">
          ${csrfField(o.csrf)}
          <button class="btn primary" type="submit" data-testid="redeliver">
            ${o.redeliverLabel ?? 'Redeliver'}
          </button>
        </form>`
    : '';
  return html`${pageHead(
      html`Delivery <span class="mono">${d.id}</span> ${badge(d.status)}`,
      html`<span class="mono">${d.eventType}</span> → <span class="mono">${d.endpoint.url}</span>`,
      redeliver,
    )}
    <div class="cols">
      <section class="card">
        ${kv([
          [
            'Status',
            html`${badge(d.status)}
            ${d.lastStatusCode !== null ? html`<span class="muted">last HTTP ${d.lastStatusCode}</span>` : ''}`,
          ],
          [
            'Event',
            html`${idLink(d.eventId, l.event?.(d.eventId))} <span class="mono muted">${d.eventType}</span>`,
          ],
          [
            'Endpoint',
            html`${idLink(d.endpointId, l.endpoint?.(d.endpointId))}<br /><span class="mono small"
                >${d.endpoint.url}</span
              >`,
          ],
          ...(o.showApplication
            ? ([['Application', idLink(d.applicationId, l.application?.(d.applicationId))]] as [
                string,
                Html,
              ][])
            : []),
          ['Attempts', String(d.attemptCount)],
          ['Priority', d.priority],
          [
            'Last error',
            d.lastError
              ? html`<span class="mono">${d.lastError}</span>`
              : html`<span class="faint">none</span>`,
          ],
        ])}
      </section>
      <section class="card">
        ${kv([
          ['Created', when(d.createdAt)],
          [
            pending ? 'Next attempt' : 'Finished',
            pending ? when(d.nextAttemptAt, { empty: 'in progress' }) : when(d.completedAt),
          ],
          ['Deadline', when(d.deadlineAt)],
          [
            'webhook-id',
            html`<span class="mono">${d.eventId}</span>
              <span class="faint small">(the same on every attempt)</span>`,
          ],
        ])}
      </section>
    </div>
    <h2>Event payload</h2>
    ${payloadText(d.event.payload)}
    <h2>Attempts <span class="muted small">(${d.attempts.length}, newest first)</span></h2>
    ${
      attempts.length
        ? attempts.map((a, i) => attemptBlock(a, d, i < 3))
        : html`<div class="empty">No attempt yet${pending ? ': the first one is on its way.' : '.'}</div>`
    }`;
}

/** Readable names for the ids of a table: application names, endpoint URLs (ids are shown when missing). */
export interface TableLabels {
  application?: Map<string, string>;
  endpoint?: Map<string, string>;
}

export function labelled(
  id: string,
  label: string | undefined,
  href: string | undefined,
  url: boolean,
): Html {
  if (label === undefined) return idLink(id, href);
  const text = url ? label.replace(/^https?:\/\//, '') : label;
  const cls = url ? 'mono small' : '';
  return href
    ? html`<a href="${href}" title="${id}" class="${cls}">${text}</a>`
    : html`<span title="${id}">${text}</span>`;
}

/** Rows of a deliveries table. */
export function deliveriesTable(
  rows: DeliveryView[],
  links: DeliveryLinks,
  opts: { showApplication: boolean; showEndpoint: boolean; labels?: TableLabels },
): Html {
  if (rows.length === 0) return html`<div class="empty">No deliveries match.</div>`;
  return html`<div class="table">
    <table>
      <thead>
        <tr>
          <th>Delivery</th>
          <th>Status</th>
          <th>Event type</th>
          ${opts.showApplication ? html`<th>Application</th>` : ''}
          ${opts.showEndpoint ? html`<th>Endpoint</th>` : ''}
          <th class="num">Attempts</th>
          <th>Last result</th>
          <th>Created</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (d) =>
            html`<tr data-delivery-id="${d.id}" data-status="${d.status}">
              <td>${idLink(d.id, links.delivery(d.id))}</td>
              <td>${badge(d.status)}</td>
              <td class="mono">
                ${d.eventType}${d.priority !== 'normal' ? html` <span class="faint small">${d.priority}</span>` : ''}
              </td>
              ${
                opts.showApplication
                  ? html`<td>
                      ${labelled(d.applicationId, opts.labels?.application?.get(d.applicationId), links.application?.(d.applicationId), false)}
                    </td>`
                  : ''
              }
              ${
                opts.showEndpoint
                  ? html`<td>
                      ${labelled(d.endpointId, opts.labels?.endpoint?.get(d.endpointId), links.endpoint?.(d.endpointId), true)}
                    </td>`
                  : ''
              }
              <td class="num">${d.attemptCount}</td>
              <td class="small">
                ${d.lastStatusCode !== null ? html`<span class="mono">HTTP ${d.lastStatusCode}</span>` : ''}
                ${
                  d.lastError && d.lastError !== `http_${d.lastStatusCode}`
                    ? html`<span class="mono faint">${d.lastError.slice(0, 60)}</span>`
                    : ''
                }
                ${d.lastStatusCode === null && !d.lastError ? html`<span class="faint">—</span>` : ''}
              </td>
              <td>${when(d.createdAt)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** All / Failed / Pending / Succeeded tabs over a deliveries list; other filters are kept. */
export function statusTabs(
  path: string,
  params: Record<string, string | undefined>,
  current: string | undefined,
): Html {
  const items: [string | undefined, string][] = [
    [undefined, 'All'],
    ['failed', 'Failed'],
    ['pending', 'Pending'],
    ['succeeded', 'Succeeded'],
  ];
  return html`<nav class="tabs" aria-label="Status">
    ${items.map(([status, label]) => {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries({ ...params, status })) if (v) q.set(k, v);
      const s = q.toString();
      return html`<a href="${path}${s ? `?${s}` : ''}" class="${current === status ? 'active' : ''}"
        >${label}</a
      >`;
    })}
  </nav>`;
}
