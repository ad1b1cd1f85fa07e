import type {
  ApplicationView,
  BlockedPartitionPageView,
  DeliveryStatus,
  DeliveryView,
  EndpointStatsView,
  EndpointUrlMatchView,
  EndpointView,
  EventDetailView,
  EventListItemView,
  Page,
  StatsWindowView,
} from '@tern/core';
import {
  badge,
  count,
  csrfField,
  healthBlock,
  idLink,
  kv,
  millis,
  pageHead,
  pager,
  payloadText,
  percent,
  tabs,
  when,
} from '../components';
import { deliveriesTable, DeliveryLinks, labelled, statusTabs, TableLabels } from '../delivery-page';
import { circuitDetails, endpointGrid, eventTypesText, filterText } from '../endpoint-card';
import { Html, html, queryString } from '../html';

/**
 * The support dashboard's pages, as pure functions of what the controller fetched: (view model) → Html. No I/O,
 * no request; the controller (dashboard.controller.ts) authorises, fetches and renders them in the layout.
 */

/** Where the dashboard links each kind of id. */
export const LINKS: Required<DeliveryLinks> = {
  delivery: (id) => `/dashboard/deliveries/${id}`,
  event: (id) => `/dashboard/events/${id}`,
  endpoint: (id) => `/dashboard/endpoints/${id}`,
  application: (id) => `/dashboard/apps/${id}`,
};

/** How far back "Recover" can reach, in hours. */
export const RECOVER_WINDOWS: [string, string][] = [
  ['1', 'the last hour'],
  ['6', 'the last 6 hours'],
  ['24', 'the last 24 hours'],
  ['168', 'the last 7 days'],
];

/** The sign-in form; `next` is where a successful sign-in goes. */
export function signInPage(vm: { next: string; error: string | null }): Html {
  const { next, error } = vm;
  return html`<div class="center card">
    <h1>Sign in to Tern support</h1>
    <p class="muted">
      With the admin key or a support key. The key is checked once; the browser keeps only a signed session
      cookie, never the key.
    </p>
    ${error ? html`<div class="flash error" data-testid="login-error">${error}</div>` : ''}
    <form class="stack" method="post" action="/dashboard/login">
      <input type="hidden" name="next" value="${next}" />
      <div class="field${error ? ' invalid' : ''}">
        <label for="key">API key</label>
        <input class="mono" type="password" id="key" name="key" autocomplete="off" required autofocus />
      </div>
      <div><button class="btn primary" type="submit">Sign in</button></div>
    </form>
  </div>`;
}

export function applicationsPage(vm: {
  apps: Page<ApplicationView>;
  failed: Page<DeliveryView> | null;
  labels: TableLabels;
  cursor: string | undefined;
}): Html {
  const { apps, failed, labels, cursor } = vm;
  return html`${pageHead('Applications', "Every application's endpoints, events and deliveries.")}
  ${
    apps.data.length
      ? html`<div class="table">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Application</th>
                <th>Created</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              ${apps.data.map(
                (a) =>
                  html`<tr>
                    <td>
                      <a href="/dashboard/apps/${a.id}"><strong>${a.name}</strong></a>
                    </td>
                    <td>${idLink(a.id, `/dashboard/apps/${a.id}`)}</td>
                    <td>${when(a.createdAt)}</td>
                    <td class="small">
                      <a href="/dashboard/apps/${a.id}/events">events</a> ·
                      <a href="/dashboard/deliveries?applicationId=${a.id}">deliveries</a>
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>`
      : html`<div class="empty">No applications yet.</div>`
  }
  ${pager('/dashboard', {}, apps.nextCursor, cursor !== undefined)}
  ${
    failed
      ? html`<h2>
            Latest failed deliveries <a class="small" href="/dashboard/deliveries?status=failed">all »</a>
          </h2>
          ${deliveriesTable(failed.data, LINKS, { showApplication: true, showEndpoint: true, labels })}`
      : ''
  }`;
}

export function applicationPage(vm: {
  app: ApplicationView;
  page: Page<EndpointView>;
  stats: EndpointStatsView[];
  cursor: string | undefined;
}): Html {
  const { app, page, stats, cursor } = vm;
  return html`${appHead(app.id, app.name, app.createdAt, 'endpoints')}
  ${endpointGrid(page.data, stats, LINKS, html`This application has no endpoints.`)}
  ${pager(`/dashboard/apps/${app.id}`, {}, page.nextCursor, cursor !== undefined)}`;
}

export function applicationEventsPage(vm: {
  app: ApplicationView;
  page: Page<EventListItemView>;
  typeGiven: string | undefined;
  type: string | undefined;
  cursor: string | undefined;
}): Html {
  const { app, page, typeGiven, type, cursor } = vm;
  return html`${appHead(app.id, app.name, app.createdAt, 'events')}
    <form class="filters" method="get" action="/dashboard/apps/${app.id}/events">
      <label for="type" class="hint">Event type</label>
      <input
        class="mono"
        type="text"
        id="type"
        name="eventType"
        value="${typeGiven ?? ''}"
        placeholder="order.created"
      />
      <button class="btn" type="submit">Filter</button>
      ${typeGiven && !type ? html`<span class="field-error">not an event type: ignored</span>` : ''}
      ${type ? html`<span class="chip">type ${type} <a href="/dashboard/apps/${app.id}/events" title="Clear">×</a></span>` : ''}
    </form>
    ${
      page.data.length
        ? html`<div class="table">
            <table>
              <thead>
                <tr>
                  <th>Event</th>
                  <th>Type</th>
                  <th>Idempotency key</th>
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                ${page.data.map(
                  (e) =>
                    html`<tr data-event-id="${e.id}">
                      <td>${idLink(e.id, LINKS.event(e.id))}</td>
                      <td class="mono">${e.eventType}</td>
                      <td class="mono small">${e.idempotencyKey ?? html`<span class="faint">—</span>`}</td>
                      <td>${when(e.createdAt)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : html`<div class="empty">No events${type ? ' of this type' : ''}.</div>`
    }
    ${pager(`/dashboard/apps/${app.id}/events`, { eventType: type }, page.nextCursor, cursor !== undefined)}`;
}

export function eventPage(vm: {
  ev: EventDetailView;
  app: ApplicationView;
  urls: ReadonlyMap<string, string> | undefined;
}): Html {
  const { ev, app, urls } = vm;
  return html`${pageHead(
      html`Event <span class="mono">${ev.id}</span>`,
      html`<span class="mono">${ev.eventType}</span> · ${app.name}
        (${idLink(app.id, LINKS.application(app.id))})`,
    )}
    <section class="card">
      ${kv([
        ['Type', html`<span class="mono">${ev.eventType}</span>`],
        ['Created', when(ev.createdAt)],
        [
          'Idempotency key',
          ev.idempotencyKey
            ? html`<span class="mono">${ev.idempotencyKey}</span>`
            : html`<span class="faint">none</span>`,
        ],
        ['Deliveries', String(ev.deliveries.length)],
      ])}
    </section>
    <h2>Deliveries</h2>
    ${
      ev.deliveries.length
        ? html`<div class="table">
            <table>
              <thead>
                <tr>
                  <th>Delivery</th>
                  <th>Status</th>
                  <th>Endpoint</th>
                  <th class="num">Attempts</th>
                  <th>Last result</th>
                  <th>Finished / next</th>
                </tr>
              </thead>
              <tbody>
                ${ev.deliveries.map(
                  (d) =>
                    html`<tr data-delivery-id="${d.id}" data-status="${d.status}">
                      <td>${idLink(d.id, LINKS.delivery(d.id))}</td>
                      <td>${badge(d.status)}</td>
                      <td>
                        ${labelled(d.endpointId, urls?.get(d.endpointId), LINKS.endpoint(d.endpointId), true)}
                      </td>
                      <td class="num">${d.attemptCount}</td>
                      <td class="small mono">
                        ${d.lastStatusCode !== null ? `HTTP ${d.lastStatusCode} ` : ''}${d.lastError ?? ''}
                      </td>
                      <td>
                        ${d.status === 'pending' ? when(d.nextAttemptAt, { empty: 'in progress' }) : when(d.completedAt)}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : html`<div class="empty">No endpoint was subscribed to this event type when it was accepted.</div>`
    }
    <h2>Payload</h2>
    ${payloadText(ev.payload)}`;
}

export function endpointPage(vm: {
  ep: EndpointView;
  stats: EndpointStatsView;
  app: ApplicationView;
  deliveries: Page<DeliveryView>;
  status: DeliveryStatus | undefined;
  cursor: string | undefined;
  csrf: string | null | undefined;
  role: string;
  recoverMax: number;
  /** Keys of a block-mode ordered endpoint held by a failed delivery (first page). */
  blocked: BlockedPartitionPageView;
}): Html {
  const { ep, stats, app, deliveries, status, cursor, csrf, role, recoverMax, blocked } = vm;
  const path = LINKS.endpoint(ep.id);
  const headerNames = Object.keys(ep.headers);
  return html`${pageHead(
      html`<span class="mono">${ep.url}</span> ${ep.disabled ? badge('disabled') : badge('enabled')}`,
      html`${idLink(ep.id)} · ${app.name} (${idLink(app.id, LINKS.application(app.id))})`,
    )}
    <div class="cols">
      <section class="card">
        <h3>Settings</h3>
        ${kv([
          ['Description', ep.description || html`<span class="faint">none</span>`],
          ['Event types', eventTypesText(ep.eventTypes)],
          ['Payload filter', filterText(ep.filter)],
          [
            'State',
            ep.disabled
              ? html`${badge('disabled')}
                ${when(ep.disabledAt, { inline: true })}${ep.disabledReason ? html`<br />${ep.disabledReason}` : ''}`
              : badge('enabled'),
          ],
          ['Circuit', circuitDetails(ep.circuit)],
          [
            'Rate limit',
            ep.rateLimitPerSecond ? `${ep.rateLimitPerSecond} / s` : html`<span class="faint">none</span>`,
          ],
          [
            'Max in flight',
            ep.maxInFlight !== null
              ? String(ep.maxInFlight)
              : html`<span class="faint">default (ENDPOINT_MAX_IN_FLIGHT)</span>`,
          ],
          [
            'Ordering',
            ep.ordering === 'partitioned'
              ? html`per partition key · on failure: ${ep.onFailure}`
              : html`<span class="faint">none</span>`,
          ],
          [
            'Custom headers',
            headerNames.length
              ? html`<span class="mono small">${headerNames.join(', ')}</span>
                  <span class="faint small">(values hidden)</span>`
              : html`<span class="faint">none</span>`,
          ],
          ['Created', when(ep.createdAt)],
          ['Updated', when(ep.updatedAt)],
        ])}
      </section>
      <section class="card endpoint">
        <h3>Health</h3>
        ${endpointHealthDetails(stats)}
      </section>
    </div>
    ${blockedPartitionsCard(path, blocked, csrf)}
    <section class="card">
      <h3>Recover failed deliveries</h3>
      <form class="filters" method="post" action="${path}/recover">
        ${csrfField(csrf)}
        <span>Send again every failed delivery created in</span>
        <select name="hours" aria-label="Time window">
          ${RECOVER_WINDOWS.map(([h, label]) => html`<option value="${h}" ${h === '24' ? 'selected' : ''}>${label}</option>`)}
        </select>
        <button class="btn" type="submit">Recover</button>
        <span class="faint small">at most ${count(recoverMax)} per click, oldest first · as ${role}</span>
      </form>
    </section>
    <h2>Deliveries</h2>
    ${statusTabs(path, {}, status)}
    ${deliveriesTable(deliveries.data, LINKS, { showApplication: false, showEndpoint: false })}
    ${pager(path, { status }, deliveries.nextCursor, cursor !== undefined)}`;
}

/** Blocked keys with a Skip button each (nothing when none is blocked). */
function blockedPartitionsCard(
  path: string,
  blocked: BlockedPartitionPageView,
  csrf: string | null | undefined,
): Html | string {
  if (blocked.data.length === 0) return '';
  return html`<section class="card">
    <h3>Blocked partition keys</h3>
    <p class="faint small">
      Each key waits on a delivery that failed for good. Redeliver it (its success resumes the key) or skip it
      (it stays failed; the key's next delivery goes).
    </p>
    <table>
      <thead>
        <tr>
          <th>Key</th>
          <th>Blocking delivery</th>
          <th>Since</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${blocked.data.map(
          (b) =>
            html`<tr>
              <td class="mono">${b.partitionKey}</td>
              <td>${idLink(b.deliveryId, LINKS.delivery(b.deliveryId))} ${badge(b.deliveryStatus)}</td>
              <td>${when(b.since)}</td>
              <td>
                <form method="post" action="${path}/partitions/skip">
                  ${csrfField(csrf)}
                  <input type="hidden" name="partitionKey" value="${b.partitionKey}" />
                  <button class="btn" type="submit" data-testid="skip-partition">Skip</button>
                </form>
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${blocked.nextCursor ? html`<p class="faint small">More keys are blocked: see the API (blocked-partitions).</p>` : ''}
  </section>`;
}

function appHead(id: string, name: string, createdAt: string, active: 'endpoints' | 'events'): Html {
  return html`${pageHead(name, html`${idLink(id)} · created ${when(createdAt, { inline: true })}`)}
  ${tabs([
    { href: `/dashboard/apps/${id}`, label: 'Endpoints', active: active === 'endpoints' },
    { href: `/dashboard/apps/${id}/events`, label: 'Events', active: active === 'events' },
    { href: `/dashboard/deliveries?applicationId=${id}`, label: 'Deliveries', active: false },
  ])}`;
}

/** The deliveries page's filters: the query names of GET /v1/deliveries. */
export type DeliveriesFilters = Record<
  'applicationId' | 'endpointId' | 'eventId' | 'eventType',
  string | undefined
>;

export function deliveriesPage(vm: {
  filters: DeliveriesFilters;
  status: DeliveryStatus | undefined;
  page: Page<DeliveryView>;
  labels: TableLabels;
  cursor: string | undefined;
}): Html {
  const { filters, status, page, labels, cursor } = vm;
  const chips = (Object.entries(filters) as [keyof typeof filters, string | undefined][])
    .filter(([, v]) => v)
    .map(
      ([k, v]) =>
        html`<span class="chip"
          >${k} <span class="mono">${v}</span>
          <a href="/dashboard/deliveries${queryString({ ...filters, [k]: undefined, status })}" title="Remove"
            >×</a
          ></span
        >`,
    );
  return html`${pageHead('Deliveries', 'One per event and endpoint, newest first.')}
  ${statusTabs('/dashboard/deliveries', filters, status)}
  ${chips.length ? html`<div class="filters">${chips}</div>` : ''}
  ${deliveriesTable(page.data, LINKS, { showApplication: !filters.applicationId, showEndpoint: !filters.endpointId, labels })}
  ${pager('/dashboard/deliveries', { ...filters, status }, page.nextCursor, cursor !== undefined)}`;
}

/** The search page: a hint, "nothing has that id", or the endpoints whose URL contains the text. */
export function searchPage(vm: {
  text: string;
  looksLikeId: boolean;
  matches: EndpointUrlMatchView[];
}): Html {
  const { text, looksLikeId, matches } = vm;
  let result: Html;
  if (!text)
    result = html`<div class="empty">
      Type an event id (evt_…), a delivery id (dlv_…), an endpoint id (ep_…), an application id (app_…) or
      part of an endpoint URL.
    </div>`;
  else if (looksLikeId)
    result = html`<div class="empty" data-testid="no-match">
      Nothing has the id <span class="mono">${text}</span> (or it is older than the history kept).
    </div>`;
  else if (text.length < 3) result = html`<div class="empty">Type at least 3 characters of a URL.</div>`;
  else if (matches.length === 0)
    result = html`<div class="empty" data-testid="no-match">
      No endpoint URL contains <span class="mono">${text}</span>.
    </div>`;
  else {
    result = html`<div class="table">
        <table>
          <thead>
            <tr>
              <th>Endpoint URL</th>
              <th>Endpoint</th>
              <th>Application</th>
              <th>State</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            ${matches.map(
              (m) =>
                html`<tr>
                  <td><a class="mono" href="${LINKS.endpoint(m.id)}">${m.url}</a></td>
                  <td>${idLink(m.id, LINKS.endpoint(m.id))}</td>
                  <td>${idLink(m.applicationId, LINKS.application(m.applicationId))}</td>
                  <td>${m.disabled ? badge('disabled') : badge('enabled')}</td>
                  <td>${when(m.createdAt)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${matches.length === 50 ? html`<p class="muted small">The first 50 matches: type more of the URL.</p>` : ''}`;
  }
  return html`${pageHead('Search', text ? html`for <span class="mono">${text}</span>` : undefined)} ${result}`;
}

function windowRow(label: string, w: StatsWindowView): Html {
  return html`<tr>
    <td>${label}</td>
    <td class="num">${count(w.attempts)}</td>
    <td class="num">${percent(w.successRate)}</td>
    <td class="num">${millis(w.p50DurationMs)}</td>
    <td class="num">${millis(w.p95DurationMs)}</td>
  </tr>`;
}

/** The endpoint page's health: the 24 h block plus hour / day / week figures. */
function endpointHealthDetails(stats: EndpointStatsView): Html {
  return html`<div class="health">
    ${healthBlock(stats, LINKS.delivery)}
    <div class="table">
      <table>
        <thead>
          <tr>
            <th></th>
            <th class="num">Attempts</th>
            <th class="num">Success</th>
            <th class="num">p50</th>
            <th class="num">p95</th>
          </tr>
        </thead>
        <tbody>
          ${windowRow('Last hour', stats.windows.hour)} ${windowRow('Last 24 h', stats.windows.day)}
          ${windowRow('Last 7 days', stats.windows.week)}
        </tbody>
      </table>
    </div>
    <p class="small muted">Last success: ${when(stats.lastSuccessAt, { inline: true, empty: 'never' })}</p>
  </div>`;
}
