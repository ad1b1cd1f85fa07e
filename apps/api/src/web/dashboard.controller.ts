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
  PartitionsService,
  EndpointsService,
  EndpointUrlSearchService,
  EventsService,
  isId,
  NotFoundError,
} from '@tern/core';
import type { Response } from 'express';
import { deliveryPage, TableLabels } from './delivery-page';
import { ENDPOINT_CARDS_PER_PAGE } from './endpoint-card';
import { attempt, eventTypeParam, param, statusParam } from './web-query';
import { field, PublicPage, sessionOf, WebPages, WebRequest, WebSessionGuard } from './web-auth';
import { WebErrorFilter } from './web-error.filter';
import { WebRenderer } from './web-renderer';
import { WebSessions } from './web-session';
import {
  applicationEventsPage,
  applicationPage,
  applicationsPage,
  DeliveriesFilters,
  deliveriesPage,
  endpointPage,
  eventPage,
  LINKS,
  RECOVER_WINDOWS,
  searchPage,
  signInPage,
} from './pages/dashboard.page';
import { count } from './components';
import { clientIp } from '../http/api-authentication.middleware';

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
    private readonly partitions: PartitionsService,
  ) {}

  private get pageSize(): number {
    return Math.min(25, this.config.PAGE_SIZE_MAX);
  }

  /** Application names and endpoint URLs for the ids of a table: two queries, whatever the row count. */
  private async labels(rows: { applicationId: string; endpointId: string }[]): Promise<TableLabels> {
    const [application, endpoint] = await Promise.all([
      this.applications.names(rows.map((r) => r.applicationId)),
      this.endpoints.urls(rows.map((r) => r.endpointId)),
    ]);
    return { application, endpoint };
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
      body: signInPage({ next, error }),
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
    const body = applicationsPage({ apps, failed, labels, cursor });
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
    const body = applicationPage({ app, page, stats, cursor });
    this.renderer.page(req, res, { title: app.name, body, nav: 'apps' });
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
    const typeGiven = param(q, 'eventType');
    const type = eventTypeParam(q);
    const page = await this.events.list(
      app.id,
      type ? { eventType: type } : {},
      this.pageSize,
      decodeCursor(cursor, 'evt'),
    );
    const body = applicationEventsPage({ app, page, typeGiven, type, cursor });
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
    const body = eventPage({ ev, app, urls });
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
    const [ep, stats, app, deliveries, blocked] = await Promise.all([
      this.endpoints.get(appId, id),
      this.queries.endpointStats({}, id),
      this.applications.get(appId),
      this.queries.listDeliveries(
        {},
        { endpointId: id, ...(status ? { status } : {}) },
        this.pageSize,
        cursor,
      ),
      this.partitions.blocked({}, id, this.pageSize),
    ]);
    const body = endpointPage({
      ep,
      stats,
      app,
      deliveries,
      status,
      cursor,
      csrf: req.web?.csrf,
      role: session.role,
      recoverMax: this.config.RECOVER_MAX_DELIVERIES,
      blocked,
    });
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

  @Post('endpoints/:id/partitions/skip')
  async skipPartition(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const key = field(req, 'partitionKey');
    const r = await attempt(() => this.partitions.skip({}, id, key));
    this.renderer.redirect(
      req,
      res,
      `/dashboard/endpoints/${id}`,
      r.ok
        ? { kind: 'ok', message: `Skipped: partition ${JSON.stringify(key)} goes on with its next delivery.` }
        : { kind: 'error', message: `Not skipped: ${r.error.message}` },
    );
  }

  // ---- deliveries ------------------------------------------------------------------------------------------

  @Get('deliveries')
  async deliveries(
    @Req() req: WebRequest,
    @Res() res: Response,
    @Query() q: Record<string, unknown>,
  ): Promise<void> {
    const filters: DeliveriesFilters = {
      applicationId: param(q, 'applicationId'),
      endpointId: param(q, 'endpointId'),
      eventId: param(q, 'eventId'),
      eventType: eventTypeParam(q),
    };
    const status = statusParam(q);
    const cursor = param(q, 'cursor');
    if (filters.applicationId !== undefined) await this.applications.get(filters.applicationId);
    const page = await this.queries.listDeliveries(
      filters.applicationId ? { applicationId: filters.applicationId } : {},
      {
        ...(filters.endpointId ? { endpointId: filters.endpointId } : {}),
        ...(filters.eventId ? { eventId: filters.eventId } : {}),
        ...(filters.eventType ? { eventType: filters.eventType } : {}),
        ...(status ? { status } : {}),
      },
      this.pageSize,
      cursor,
    );
    const labels = await this.labels(page.data);
    const body = deliveriesPage({ filters, status, page, labels, cursor });
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
    if (isId('dlv', text) && (await found(() => this.queries.applicationOf('delivery', text))))
      return go(LINKS.delivery(text));
    if (isId('ep', text) && (await found(() => this.queries.applicationOf('endpoint', text)))) {
      return go(LINKS.endpoint(text));
    }
    if (isId('app', text) && (await found(() => this.applications.get(text))))
      return go(LINKS.application(text));
    const looksLikeId = /^(evt|dlv|ep|app|att|key)_/.test(text);
    const matches = text && !looksLikeId ? await this.urlSearch.search(text, 50) : [];
    if (matches.length === 1) return go(LINKS.endpoint(matches[0].id));
    this.renderer.page(req, res, {
      title: 'Search',
      search: text,
      body: searchPage({ text, looksLikeId, matches }),
    });
  }

  @Get('*path')
  notFound(): void {
    throw new NotFoundError('page');
  }
}
