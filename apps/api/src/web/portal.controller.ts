import { Controller, Get, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AppConfig } from '@tern/config';
import {
  decodeCursor,
  DeliveriesQueryService,
  DeliveryActionsService,
  EndpointSecretsService,
  EndpointsService,
  EndpointView,
  FieldProblem,
  InvalidInputError,
  NotFoundError,
  PortalLinksService,
  QueryScope,
} from '@tern/core';
import type { Response } from 'express';
import { ENDPOINT_CARDS_PER_PAGE } from './endpoint-card';
import { readEndpointForm, EndpointFormValues } from './endpoint-form';
import {
  deliveriesPage,
  deliveryPage,
  EMPTY_FORM,
  endpointPage,
  endpointsPage,
  enterPage,
  formValues,
  leftPage,
  LINKS,
  newEndpointPage,
} from './pages/portal.page';
import { PublicPage, field, sessionOf, WebPages, WebRequest, WebSessionGuard } from './web-auth';
import { WebErrorFilter } from './web-error.filter';
import { attempt, param, statusParam } from './web-query';
import { WebRenderer } from './web-renderer';
import { WebSessions } from './web-session';

/**
 * The customer portal: one application's endpoints (register, edit, secret, test event) and deliveries with their
 * attempts. Opened through a portal link; every lookup is scoped to the session's application, so another
 * application's ids are 404.
 */
@ApiExcludeController()
@WebPages('portal')
@UseGuards(WebSessionGuard)
@UseFilters(WebErrorFilter)
@Controller('portal')
export class PortalController {
  constructor(
    private readonly config: AppConfig,
    private readonly renderer: WebRenderer,
    private readonly sessions: WebSessions,
    private readonly links: PortalLinksService,
    private readonly endpoints: EndpointsService,
    private readonly secrets: EndpointSecretsService,
    private readonly queries: DeliveriesQueryService,
    private readonly actions: DeliveryActionsService,
  ) {}

  private appId(req: WebRequest): string {
    return sessionOf(req).subject;
  }

  private scope(req: WebRequest): QueryScope {
    return { applicationId: this.appId(req) };
  }

  /** How long a rotated-out secret keeps signing, in hours (one decimal). */
  private get overlapHours(): number {
    return Math.round(this.config.SECRET_ROTATION_OVERLAP_SECONDS / 360) / 10;
  }

  private get pageSize(): number {
    return Math.min(25, this.config.PAGE_SIZE_MAX);
  }

  // ---- entering and leaving --------------------------------------------------------------------------------

  /** The portal link lands here; its token is in the URL fragment, which a small script posts to us. */
  @Get('enter')
  @PublicPage()
  enterPage(@Req() req: WebRequest, @Res() res: Response): void {
    this.renderer.page(req, res, {
      title: 'Opening the portal',
      body: enterPage(),
    });
  }

  @Post('enter')
  @PublicPage()
  async enter(@Req() req: WebRequest, @Res() res: Response): Promise<void> {
    const link = await this.links.open(field(req, 'token'));
    this.sessions.start(
      req,
      res,
      {
        area: 'portal',
        role: 'application',
        subject: link.applicationId,
        label: link.applicationName,
        epoch: link.epoch,
      },
      link.sessionExpiresAt,
    );
    this.renderer.redirect(req, res, '/portal');
  }

  @Post('logout')
  logout(@Req() req: WebRequest, @Res() res: Response): void {
    this.sessions.end(req, res, 'portal');
    req.web = { area: 'portal', session: null, csrf: null };
    this.renderer.page(req, res, {
      title: 'Left the portal',
      body: leftPage(),
    });
  }

  // ---- endpoints -------------------------------------------------------------------------------------------

  @Get()
  async home(
    @Req() req: WebRequest,
    @Res() res: Response,
    @Query() q: Record<string, unknown>,
  ): Promise<void> {
    const cursor = param(q, 'cursor');
    const page = await this.endpoints.list(
      this.appId(req),
      Math.min(ENDPOINT_CARDS_PER_PAGE, this.config.PAGE_SIZE_MAX),
      decodeCursor(cursor, 'ep'),
    );
    const stats = await Promise.all(
      page.data.map((ep) => this.queries.endpointStats(this.scope(req), ep.id)),
    );
    const body = endpointsPage({ page, stats, cursor });
    this.renderer.page(req, res, { title: 'Endpoints', body, nav: 'endpoints' });
  }

  @Get('endpoints/new')
  newEndpoint(@Req() req: WebRequest, @Res() res: Response): void {
    this.renderNewEndpoint(req, res, EMPTY_FORM, [], 200);
  }

  private renderNewEndpoint(
    req: WebRequest,
    res: Response,
    values: EndpointFormValues,
    problems: FieldProblem[],
    status: number,
  ): void {
    this.renderer.page(req, res, {
      status,
      title: 'Add endpoint',
      nav: 'endpoints',
      body: newEndpointPage({ values, problems, csrf: req.web?.csrf ?? null }),
    });
  }

  @Post('endpoints')
  async createEndpoint(@Req() req: WebRequest, @Res() res: Response): Promise<void> {
    const form = readEndpointForm(req);
    if (form.problems.length) return this.renderNewEndpoint(req, res, form.values, form.problems, 422);
    try {
      const ep = await this.endpoints.create(this.appId(req), {
        url: form.input.url,
        description: form.input.description,
        eventTypes: form.input.eventTypes,
        filter: form.input.filter,
      });
      this.renderer.redirect(req, res, `/portal/endpoints/${ep.id}?reveal=1`, {
        kind: 'ok',
        message: 'Endpoint added. Use its signing secret below to verify the webhooks you receive.',
      });
    } catch (err) {
      if (err instanceof InvalidInputError) {
        return this.renderNewEndpoint(req, res, form.values, err.fields ?? [], 422);
      }
      throw err;
    }
  }

  @Get('endpoints/:id')
  async endpoint(
    @Req() req: WebRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @Query() q: Record<string, unknown>,
  ): Promise<void> {
    const ep = await this.endpoints.get(this.appId(req), id);
    await this.renderEndpoint(req, res, ep, formValues(ep), [], 200, param(q, 'reveal') === '1');
  }

  private async renderEndpoint(
    req: WebRequest,
    res: Response,
    ep: EndpointView,
    values: EndpointFormValues,
    problems: FieldProblem[],
    status: number,
    reveal: boolean,
  ): Promise<void> {
    const scope = this.scope(req);
    const csrf = req.web?.csrf ?? null;
    const [stats, recent, secret] = await Promise.all([
      this.queries.endpointStats(scope, ep.id),
      this.queries.listDeliveries(scope, { endpointId: ep.id }, 10),
      reveal ? this.secrets.get(this.appId(req), ep.id) : null,
    ]);
    const body = endpointPage({
      ep,
      stats,
      recent: recent.data,
      secret,
      values,
      problems,
      csrf,
      overlapHours: this.overlapHours,
    });
    this.renderer.page(req, res, { status, title: ep.url, body, nav: 'endpoints' });
  }

  @Post('endpoints/:id')
  async updateEndpoint(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const appId = this.appId(req);
    const current = await this.endpoints.get(appId, id);
    const form = readEndpointForm(req);
    const problems = [...form.problems];
    if (!problems.length) {
      try {
        const { url, description, eventTypes, disabled, disabledReason, filter } = form.input;
        await this.endpoints.update(appId, id, {
          url,
          description,
          eventTypes,
          // Unchanged unless edited: an operational endpoint (no filter allowed) saves with the field empty.
          ...(filter !== (current.filter?.text ?? null) ? { filter } : {}),
          disabled,
          ...(disabled && disabledReason ? { disabledReason } : {}),
        });
        return this.renderer.redirect(req, res, `/portal/endpoints/${id}`, { kind: 'ok', message: 'Saved.' });
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        problems.push(...(err.fields ?? []));
      }
    }
    await this.renderEndpoint(req, res, current, form.values, problems, 422, false);
  }

  @Post('endpoints/:id/rotate-secret')
  async rotateSecret(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    await this.secrets.rotate(this.appId(req), id);
    this.renderer.redirect(req, res, `/portal/endpoints/${id}?reveal=1`, {
      kind: 'ok',
      message: `New signing secret below. The previous one keeps signing for ${this.overlapHours} h: update your receiver before then.`,
    });
  }

  @Post('endpoints/:id/test')
  async sendTest(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const r = await attempt(() => this.actions.sendTest(this.scope(req), id));
    this.renderer.redirect(
      req,
      res,
      `/portal/endpoints/${id}`,
      r.ok
        ? {
            kind: 'ok',
            message: `Test event ${r.value.eventId} sent.`,
            href: LINKS.delivery(r.value.deliveryId),
            linkText: 'Follow its delivery »',
          }
        : { kind: 'error', message: `No test event sent: ${r.error.message}` },
    );
  }

  // ---- deliveries ------------------------------------------------------------------------------------------

  @Get('deliveries')
  async deliveries(
    @Req() req: WebRequest,
    @Res() res: Response,
    @Query() q: Record<string, unknown>,
  ): Promise<void> {
    const endpoint = param(q, 'endpointId');
    const status = statusParam(q);
    const cursor = param(q, 'cursor');
    const page = await this.queries.listDeliveries(
      this.scope(req),
      { ...(endpoint ? { endpointId: endpoint } : {}), ...(status ? { status } : {}) },
      this.pageSize,
      cursor,
    );
    const appId = this.appId(req);
    const labels = {
      endpoint: await this.endpoints.urls(
        page.data.map((d) => d.endpointId),
        appId,
      ),
    };
    const body = deliveriesPage({ endpoint, status, page, labels, cursor });
    this.renderer.page(req, res, { title: 'Deliveries', body, nav: 'deliveries' });
  }

  @Get('deliveries/:id')
  async delivery(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const d = await this.queries.getDelivery(this.scope(req), id);
    const body = deliveryPage(d, req.web?.csrf ?? null);
    this.renderer.page(req, res, { title: `Delivery ${d.id}`, body, nav: 'deliveries' });
  }

  @Post('deliveries/:id/redeliver')
  async redeliver(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const r = await attempt(() => this.actions.redeliver(this.scope(req), id));
    this.renderer.redirect(
      req,
      res,
      `/portal/deliveries/${id}`,
      r.ok
        ? { kind: 'ok', message: `Sent again: attempt #${r.value.attemptCount + 1} is on its way.` }
        : { kind: 'error', message: `Not sent again: ${r.error.message}` },
    );
  }

  @Get('*path')
  notFound(): void {
    throw new NotFoundError('page');
  }
}
