import { Controller, Get, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AppConfig } from '@tern/config';
import {
  ApiKeysService,
  ApplicationsService,
  AuthThrottle,
  retryAfterSeconds,
  decodeCursor,
  DeliveriesQueryService,
  DeliveryActionsService,
  EndpointsService,
  EndpointStatsView,
  EndpointUrlSearchService,
  EventsService,
  isId,
  NotFoundError,
  StatsWindowView,
} from '@tern/core';
import type { Response } from 'express';
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
  percent,
  payloadText,
  tabs,
  when,
} from './components';
import {
  deliveriesTable,
  DeliveryLinks,
  deliveryPage,
  labelled,
  statusTabs,
  TableLabels,
} from './delivery-page';
import { ENDPOINT_CARDS_PER_PAGE, endpointGrid, eventTypesText } from './endpoint-card';
import { Html, html, queryString } from './html';
import { attempt, eventTypeParam, param, statusParam } from './web-query';
import { field, PublicPage, sessionOf, WebPages, WebRequest, WebSessionGuard } from './web-auth';
import { WebErrorFilter } from './web-error.filter';
import { WebRenderer } from './web-renderer';
import { WebSessions } from './web-session';
import { clientIp } from '../http/api-authentication.middleware';

const LINKS: Required<DeliveryLinks> = {
  delivery: (id) => `/dashboard/deliveries/${id}`,
  event: (id) => `/dashboard/events/${id}`,
  endpoint: (id) => `/dashboard/endpoints/${id}`,
  application: (id) => `/dashboard/apps/${id}`,
};

/** How far back "Recover" can reach, in hours. */
const RECOVER_WINDOWS: [string, string][] = [
  ['1', 'the last hour'],
  ['6', 'the last 6 hours'],
  ['24', 'the last 24 hours'],
  ['168', 'the last 7 days'],
];

/** A `next` after sign-in: a dashboard page of this site, nothing else. */
function safeNext(next: string): string {
  return /^\/dashboard(?:[/?][^\s\\]*)?$/.test(next) && !next.startsWith('//') ? next : '/dashboard';
}

/**
 * The support dashboard (admin and support keys): applications, endpoints with health, events, deliveries with
 * every attempt, search, redeliver and recover. Server-rendered; session cookie + CSRF token per form.
 */
@ApiExcludeController()
@WebPages('dashboard')
@UseGuards(WebSessionGuard)
@UseFilters(WebErrorFilter)
@Controller('dashboard')
export class DashboardController {
  constructor(
    private readonly config: AppConfig,
    private readonly renderer: WebRenderer,
    private readonly sessions: WebSessions,
    private readonly apiKeys: ApiKeysService,
    private readonly throttle: AuthThrottle,
    private readonly applications: ApplicationsService,
    private readonly endpoints: EndpointsService,
    private readonly events: EventsService,
    private readonly queries: DeliveriesQueryService,
    private readonly actions: DeliveryActionsService,
    private readonly urlSearch: EndpointUrlSearchService,
  ) {}

  private get pageSize(): number {
    return Math.min(25, this.config.PAGE_SIZE_MAX);
  }

  /** Application names and endpoint URLs for the ids of a table (ids stay when a lookup fails). */
  private async labels(rows: { applicationId: string; endpointId: string }[]): Promise<TableLabels> {
    const apps = [...new Set(rows.map((r) => r.applicationId))];
    const endpoints = [...new Map(rows.map((r) => [r.endpointId, r.applicationId])).entries()];
    const [names, urls] = await Promise.all([
      Promise.all(
        apps.map((id) =>
          this.applications.get(id).then(
            (a): [string, string] => [id, a.name],
            () => null,
          ),
        ),
      ),
      Promise.all(
        endpoints.map(([ep, app]) =>
          this.endpoints.get(app, ep).then(
            (e): [string, string] => [ep, e.url],
            () => null,
          ),
        ),
      ),
    ]);
    return {
      application: new Map(names.filter((x): x is [string, string] => x !== null)),
      endpoint: new Map(urls.filter((x): x is [string, string] => x !== null)),
    };
  }

  // ---- sign-in -------------------------------------------------------------------------------------------

  @Get('login')
  @PublicPage()
  loginPage(@Req() req: WebRequest, @Res() res: Response, @Query() q: Record<string, unknown>): void {
    const next = safeNext(param(q, 'next') ?? '/dashboard');
    if (req.web?.session) return this.renderer.redirect(req, res, next);
    this.renderLogin(req, res, next, null, 200);
  }

  @Post('login')
  @PublicPage()
  async login(@Req() req: WebRequest, @Res() res: Response): Promise<void> {
    const next = safeNext(field(req, 'next') || '/dashboard');
    const key = field(req, 'key').trim();
    // Sign-ins spend the same failed-authentication budgets as the API (AuthThrottle).
    const ip = clientIp(req);
    const checked = key ? await this.throttle.check(ip, key) : null;
    if (checked && checked.waitMs > 0) {
      const seconds = retryAfterSeconds(checked.waitMs);
      res.setHeader('retry-after', String(seconds));
      return this.renderLogin(req, res, next, `Too many failed sign-ins; try again in ${seconds} s.`, 429);
    }
    const principal = key ? await this.apiKeys.authenticate(key) : null;
    if (!principal) {
      if (key) await this.throttle.failed(ip, key);
      return this.renderLogin(req, res, next, 'That key is unknown or has been revoked.', 401);
    }
    if (checked) await this.throttle.succeeded(ip, key, checked);
    if (principal.kind === 'application') {
      return this.renderLogin(
        req,
        res,
        next,
        'Application keys cannot sign in here: customers open their portal through a portal link (POST /v1/portal-links).',
        403,
      );
    }
    const support = principal.kind === 'support';
    this.sessions.start(req, res, {
      area: 'dashboard',
      role: principal.kind,
      subject: support ? principal.keyId : 'admin',
      label: support ? principal.keyId : 'admin',
    });
    this.renderer.redirect(req, res, next);
  }

  @Post('logout')
  logout(@Req() req: WebRequest, @Res() res: Response): void {
    this.sessions.end(req, res, 'dashboard');
    this.renderer.redirect(req, res, '/dashboard/login', { kind: 'ok', message: 'Signed out.' });
  }

  private renderLogin(
    req: WebRequest,
    res: Response,
    next: string,
    error: string | null,
    status: number,
  ): void {
    this.renderer.page(req, res, {
      status,
      title: 'Sign in',
      body: html`<div class="center card">
        <h1>Sign in to Tern support</h1>
        <p class="muted">
          With the admin key or a support key. The key is checked once; the browser keeps only a signed
          session cookie, never the key.
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
      </div>`,
    });
  }

  // ---- applications --------------------------------------------------------------------------------------

  @Get()
  async home(
    @Req() req: WebRequest,
    @Res() res: Response,
    @Query() q: Record<string, unknown>,
  ): Promise<void> {
    const cursor = param(q, 'cursor');
    const [apps, failed] = await Promise.all([
      this.applications.list(this.pageSize, decodeCursor(cursor, 'app')),
      cursor ? null : this.queries.listDeliveries({}, { status: 'failed' }, 8),
    ]);
    const labels = failed ? await this.labels(failed.data) : {};
    const body = html`${pageHead('Applications', "Every application's endpoints, events and deliveries.")}
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
                        <a href="/dashboard/deliveries?app=${a.id}">deliveries</a>
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
    this.renderer.page(req, res, { title: 'Applications', body, nav: 'apps' });
  }

  @Get('apps/:id')
  async application(
    @Req() req: WebRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @Query() q: Record<string, unknown>,
  ): Promise<void> {
    const app = await this.applications.get(id);
    const cursor = param(q, 'cursor');
    const page = await this.endpoints.list(
      app.id,
      Math.min(ENDPOINT_CARDS_PER_PAGE, this.config.PAGE_SIZE_MAX),
      decodeCursor(cursor, 'ep'),
    );
    const stats = await Promise.all(page.data.map((ep) => this.queries.endpointStats({}, ep.id)));
    const body = html`${this.appHead(app.id, app.name, app.createdAt, 'endpoints')}
    ${endpointGrid(page.data, stats, LINKS, html`This application has no endpoints.`)}
    ${pager(`/dashboard/apps/${app.id}`, {}, page.nextCursor, cursor !== undefined)}`;
    this.renderer.page(req, res, { title: app.name, body, nav: 'apps' });
  }

  private appHead(id: string, name: string, createdAt: string, active: 'endpoints' | 'events'): Html {
    return html`${pageHead(name, html`${idLink(id)} · created ${when(createdAt, { inline: true })}`)}
    ${tabs([
      { href: `/dashboard/apps/${id}`, label: 'Endpoints', active: active === 'endpoints' },
      { href: `/dashboard/apps/${id}/events`, label: 'Events', active: active === 'events' },
      { href: `/dashboard/deliveries?app=${id}`, label: 'Deliveries', active: false },
    ])}`;
  }

  @Get('apps/:id/events')
  async applicationEvents(
    @Req() req: WebRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @Query() q: Record<string, unknown>,
  ): Promise<void> {
    const app = await this.applications.get(id);
    const cursor = param(q, 'cursor');
    const typeGiven = param(q, 'type');
    const type = eventTypeParam(q);
    const page = await this.events.list(
      app.id,
      type ? { eventType: type } : {},
      this.pageSize,
      decodeCursor(cursor, 'evt'),
    );
    const body = html`${this.appHead(app.id, app.name, app.createdAt, 'events')}
      <form class="filters" method="get" action="/dashboard/apps/${app.id}/events">
        <label for="type" class="hint">Event type</label>
        <input
          class="mono"
          type="text"
          id="type"
          name="type"
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
      ${pager(`/dashboard/apps/${app.id}/events`, { type }, page.nextCursor, cursor !== undefined)}`;
    this.renderer.page(req, res, { title: `${app.name}: events`, body, nav: 'apps' });
  }

  // ---- events ----------------------------------------------------------------------------------------------

  @Get('events/:id')
  async event(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const appId = await this.queries.applicationOf('event', id);
    const [ev, app] = await Promise.all([this.events.get(appId, id), this.applications.get(appId)]);
    const urls = (
      await this.labels(ev.deliveries.map((d) => ({ applicationId: appId, endpointId: d.endpointId })))
    ).endpoint;
    const body = html`${pageHead(
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
    this.renderer.page(req, res, { title: `Event ${ev.id}`, body, nav: 'apps' });
  }

  // ---- endpoints -------------------------------------------------------------------------------------------

  @Get('endpoints/:id')
  async endpoint(
    @Req() req: WebRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @Query() q: Record<string, unknown>,
  ): Promise<void> {
    const session = sessionOf(req);
    const appId = await this.queries.applicationOf('endpoint', id);
    const status = statusParam(q);
    const cursor = param(q, 'cursor');
    const [ep, stats, app, deliveries] = await Promise.all([
      this.endpoints.get(appId, id),
      this.queries.endpointStats({}, id),
      this.applications.get(appId),
      this.queries.listDeliveries(
        {},
        { endpointId: id, ...(status ? { status } : {}) },
        this.pageSize,
        cursor,
      ),
    ]);
    const path = `/dashboard/endpoints/${id}`;
    const headerNames = Object.keys(ep.headers);
    const body = html`${pageHead(
        html`<span class="mono">${ep.url}</span> ${ep.disabled ? badge('disabled') : badge('enabled')}`,
        html`${idLink(ep.id)} · ${app.name} (${idLink(app.id, LINKS.application(app.id))})`,
      )}
      <div class="cols">
        <section class="card">
          <h3>Settings</h3>
          ${kv([
            ['Description', ep.description || html`<span class="faint">none</span>`],
            ['Event types', eventTypesText(ep.eventTypes)],
            [
              'State',
              ep.disabled
                ? html`${badge('disabled')}
                  ${when(ep.disabledAt, { inline: true })}${ep.disabledReason ? html`<br />${ep.disabledReason}` : ''}`
                : badge('enabled'),
            ],
            [
              'Rate limit',
              ep.rateLimitPerSecond ? `${ep.rateLimitPerSecond} / s` : html`<span class="faint">none</span>`,
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
      <section class="card">
        <h3>Recover failed deliveries</h3>
        <form class="filters" method="post" action="${path}/recover">
          ${csrfField(req.web?.csrf)}
          <span>Send again every failed delivery created in</span>
          <select name="hours" aria-label="Time window">
            ${RECOVER_WINDOWS.map(([h, label]) => html`<option value="${h}" ${h === '24' ? 'selected' : ''}>${label}</option>`)}
          </select>
          <button class="btn" type="submit">Recover</button>
          <span class="faint small"
            >at most ${count(this.config.RECOVER_MAX_DELIVERIES)} per click, oldest first · as
            ${session.role}</span
          >
        </form>
      </section>
      <h2>Deliveries</h2>
      ${statusTabs(path, {}, status)}
      ${deliveriesTable(deliveries.data, LINKS, { showApplication: false, showEndpoint: false })}
      ${pager(path, { status }, deliveries.nextCursor, cursor !== undefined)}`;
    this.renderer.page(req, res, { title: ep.url, body, nav: 'apps' });
  }

  @Post('endpoints/:id/recover')
  async recover(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const window = RECOVER_WINDOWS.find(([h]) => h === field(req, 'hours')) ?? RECOVER_WINDOWS[2];
    const since = new Date(Date.now() - Number(window[0]) * 3_600_000);
    const r = await attempt(() => this.actions.recover({}, id, since));
    const back = `/dashboard/endpoints/${id}`;
    if (!r.ok) return this.renderer.redirect(req, res, back, { kind: 'error', message: r.error.message });
    const { requeued, capped } = r.value;
    this.renderer.redirect(req, res, requeued ? `${back}?status=pending` : back, {
      kind: 'ok',
      message:
        requeued === 0
          ? `No failed deliveries in ${window[1]}.`
          : `Re-queued ${count(requeued)} failed ${requeued === 1 ? 'delivery' : 'deliveries'} from ${window[1]}.` +
            (capped ? ' More are left: click Recover again.' : ''),
    });
  }

  // ---- deliveries ------------------------------------------------------------------------------------------

  @Get('deliveries')
  async deliveries(
    @Req() req: WebRequest,
    @Res() res: Response,
    @Query() q: Record<string, unknown>,
  ): Promise<void> {
    const filters = {
      app: param(q, 'app'),
      endpoint: param(q, 'endpoint'),
      event: param(q, 'event'),
      type: eventTypeParam(q),
    };
    const status = statusParam(q);
    const cursor = param(q, 'cursor');
    if (filters.app !== undefined) await this.applications.get(filters.app);
    const page = await this.queries.listDeliveries(
      filters.app ? { applicationId: filters.app } : {},
      {
        ...(filters.endpoint ? { endpointId: filters.endpoint } : {}),
        ...(filters.event ? { eventId: filters.event } : {}),
        ...(filters.type ? { eventType: filters.type } : {}),
        ...(status ? { status } : {}),
      },
      this.pageSize,
      cursor,
    );
    const labels = await this.labels(page.data);
    const chips = (Object.entries(filters) as [keyof typeof filters, string | undefined][])
      .filter(([, v]) => v)
      .map(
        ([k, v]) =>
          html`<span class="chip"
            >${k} <span class="mono">${v}</span>
            <a
              href="/dashboard/deliveries${queryString({ ...filters, [k]: undefined, status })}"
              title="Remove"
              >×</a
            ></span
          >`,
      );
    const body = html`${pageHead('Deliveries', 'One per event and endpoint, newest first.')}
    ${statusTabs('/dashboard/deliveries', filters, status)}
    ${chips.length ? html`<div class="filters">${chips}</div>` : ''}
    ${deliveriesTable(page.data, LINKS, { showApplication: !filters.app, showEndpoint: !filters.endpoint, labels })}
    ${pager('/dashboard/deliveries', { ...filters, status }, page.nextCursor, cursor !== undefined)}`;
    this.renderer.page(req, res, { title: 'Deliveries', body, nav: 'deliveries' });
  }

  @Get('deliveries/:id')
  async delivery(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const d = await this.queries.getDelivery({}, id);
    const body = deliveryPage(d, {
      links: LINKS,
      redeliverAction: `/dashboard/deliveries/${d.id}/redeliver`,
      csrf: req.web?.csrf ?? null,
      showApplication: true,
    });
    this.renderer.page(req, res, { title: `Delivery ${d.id}`, body, nav: 'deliveries' });
  }

  @Post('deliveries/:id/redeliver')
  async redeliver(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const r = await attempt(() => this.actions.redeliver({}, id));
    this.renderer.redirect(
      req,
      res,
      `/dashboard/deliveries/${id}`,
      r.ok
        ? { kind: 'ok', message: `Redelivery queued: attempt #${r.value.attemptCount + 1} is on its way.` }
        : { kind: 'error', message: `Not redelivered: ${r.error.message}` },
    );
  }

  // ---- search ----------------------------------------------------------------------------------------------

  @Get('search')
  async search(
    @Req() req: WebRequest,
    @Res() res: Response,
    @Query() q: Record<string, unknown>,
  ): Promise<void> {
    const text = param(q, 'q') ?? '';
    const go = (to: string) => this.renderer.redirect(req, res, to);
    const found = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
        return true;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    };
    if (isId('evt', text) && (await found(() => this.queries.applicationOf('event', text))))
      return go(LINKS.event(text));
    if (isId('dlv', text) && (await found(() => this.queries.getDelivery({}, text))))
      return go(LINKS.delivery(text));
    if (isId('ep', text) && (await found(() => this.queries.applicationOf('endpoint', text)))) {
      return go(LINKS.endpoint(text));
    }
    if (isId('app', text) && (await found(() => this.applications.get(text))))
      return go(LINKS.application(text));
    const looksLikeId = /^(evt|dlv|ep|app|att|key)_/.test(text);
    const matches = text && !looksLikeId ? await this.urlSearch.search(text, 50) : [];
    if (matches.length === 1) return go(LINKS.endpoint(matches[0].id));
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
    this.renderer.page(req, res, {
      title: 'Search',
      search: text,
      body: html`${pageHead('Search', text ? html`for <span class="mono">${text}</span>` : undefined)}
      ${result}`,
    });
  }

  @Get('*path')
  notFound(): void {
    throw new NotFoundError('page');
  }
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
