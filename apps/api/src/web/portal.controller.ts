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
import { badge, csrfField, healthBlock, idLink, pageHead, pager, when } from './components';
import { deliveriesTable, DeliveryLinks, deliveryPage, statusTabs } from './delivery-page';
import { ENDPOINT_CARDS_PER_PAGE, endpointGrid, eventTypesText } from './endpoint-card';
import { endpointForm, EndpointFormValues, readEndpointForm } from './endpoint-form';
import { Html, html, queryString } from './html';
import { field, PublicPage, sessionOf, WebPages, WebRequest, WebSessionGuard } from './web-auth';
import { WEB_ASSETS } from './web-assets';
import { WebErrorFilter } from './web-error.filter';
import { attempt, param, statusParam } from './web-query';
import { WebRenderer } from './web-renderer';
import { WebSessions } from './web-session';

const LINKS: DeliveryLinks & { endpoint: (id: string) => string } = {
  delivery: (id) => `/portal/deliveries/${id}`,
  endpoint: (id) => `/portal/endpoints/${id}`,
};

const EMPTY_FORM: EndpointFormValues = {
  url: '',
  description: '',
  eventTypes: '',
  disabled: false,
  disabledReason: '',
};

function formValues(ep: EndpointView): EndpointFormValues {
  return {
    url: ep.url,
    description: ep.description,
    eventTypes: ep.eventTypes.join(', '),
    disabled: ep.disabled,
    disabledReason: ep.disabledReason ?? '',
  };
}

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
      body: html`<div class="center card">
          <h1>Opening the webhooks portal…</h1>
          <form id="enter" method="post" action="/portal/enter">
            <input type="hidden" name="token" value="" />
          </form>
          <p id="missing" class="flash error" hidden>
            This link is incomplete. Open the webhooks portal again from your application.
          </p>
          <noscript><p class="flash error">This page needs JavaScript to read the portal link.</p></noscript>
        </div>
        <script src="${WEB_ASSETS.portalEnter.url}" defer></script>`,
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
      body: html`<div class="center card">
        <h1>You have left the webhooks portal</h1>
        <p class="muted">Open it again from your application whenever you need it.</p>
      </div>`,
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
    const body = html`${pageHead(
      'Endpoints',
      'Where your webhooks are sent, and how each one is doing.',
      html`<a class="btn primary" href="/portal/endpoints/new">Add endpoint</a>`,
    )}
    ${endpointGrid(
      page.data,
      stats,
      LINKS,
      html`No endpoints yet. <a href="/portal/endpoints/new">Add one</a> to start receiving webhooks.`,
    )}
    ${pager('/portal', {}, page.nextCursor, cursor !== undefined)}`;
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
      body: html`${pageHead('Add endpoint', 'Tern signs every webhook; the signing secret is shown on the next page.')}
        <section class="card">
          ${endpointForm({
            action: '/portal/endpoints',
            values,
            problems,
            csrf: req.web?.csrf ?? null,
            submitLabel: 'Add endpoint',
            withDisabled: false,
          })}
        </section>`,
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
    const overlapHours = Math.round(this.config.SECRET_ROTATION_OVERLAP_SECONDS / 360) / 10;
    const body = html`${pageHead(
        html`<span class="mono">${ep.url}</span> ${ep.disabled ? badge('disabled') : badge('enabled')}`,
        html`${idLink(ep.id)} ·
        ${eventTypesText(ep.eventTypes)}${ep.description ? html` · ${ep.description}` : ''}`,
        html`<form method="post" action="/portal/endpoints/${ep.id}/test">
          ${csrfField(csrf)}
          <button class="btn primary" type="submit" data-testid="send-test" ${ep.disabled ? 'disabled' : ''}>
            Send test event
          </button>
        </form>`,
      )}
      ${
        ep.disabled
          ? html`<p class="notice">
              Disabled
              ${when(ep.disabledAt, { inline: true })}${ep.disabledReason ? html`: ${ep.disabledReason}` : ''}.
              It gets no deliveries until you enable it again below.
            </p>`
          : ''
      }
      <div class="cols">
        <section class="card endpoint">
          <h3>Health</h3>
          ${healthBlock(stats, LINKS.delivery)}
        </section>
        <section class="card">
          <h3>Signing secret</h3>
          <p class="muted small">
            Verify each webhook's <span class="mono">webhook-signature</span> header with it (Standard
            Webhooks).
          </p>
          ${
            secret
              ? html`<div class="secret" data-testid="secret">${secret.secret}</div>
                  <p class="small muted">
                    Current since ${when(secret.createdAt, { inline: true })} ·
                    <a href="/portal/endpoints/${ep.id}">Hide</a>
                  </p>`
              : html`<div class="secret">whsec_••••••••••••••••••••••••••••••••</div>
                  <p>
                    <a class="btn" href="/portal/endpoints/${ep.id}?reveal=1" data-testid="reveal"
                      >Reveal secret</a
                    >
                  </p>`
          }
          <form method="post" action="/portal/endpoints/${ep.id}/rotate-secret">
            ${csrfField(csrf)}
            <button class="btn danger" type="submit">Rotate secret</button>
            <span class="hint"
              >The current secret keeps signing for ${overlapHours} h next to the new one.</span
            >
          </form>
        </section>
      </div>
      <section class="card">
        <h3>Settings</h3>
        ${endpointForm({
          action: `/portal/endpoints/${ep.id}`,
          values,
          problems,
          csrf,
          submitLabel: 'Save changes',
          withDisabled: true,
        })}
      </section>
      <h2>Latest deliveries <a class="small" href="/portal/deliveries?endpointId=${ep.id}">all »</a></h2>
      ${deliveriesTable(recent.data, LINKS, { showApplication: false, showEndpoint: false })}`;
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
        const { url, description, eventTypes, disabled, disabledReason } = form.input;
        await this.endpoints.update(appId, id, {
          url,
          description,
          eventTypes,
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
    const hours = Math.round(this.config.SECRET_ROTATION_OVERLAP_SECONDS / 360) / 10;
    this.renderer.redirect(req, res, `/portal/endpoints/${id}?reveal=1`, {
      kind: 'ok',
      message: `New signing secret below. The previous one keeps signing for ${hours} h: update your receiver before then.`,
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
    const body = html`${pageHead('Deliveries', 'Every webhook sent to your endpoints, newest first. Open one to see each attempt.')}
    ${statusTabs('/portal/deliveries', { endpointId: endpoint }, status)}
    ${
      endpoint
        ? html`<div class="filters">
            <span class="chip"
              >endpoint <span class="mono">${endpoint}</span>
              <a href="/portal/deliveries${queryString({ status })}" title="Remove">×</a></span
            >
          </div>`
        : ''
    }
    ${deliveriesTable(page.data, LINKS, { showApplication: false, showEndpoint: !endpoint, labels })}
    ${pager('/portal/deliveries', { endpointId: endpoint, status }, page.nextCursor, cursor !== undefined)}`;
    this.renderer.page(req, res, { title: 'Deliveries', body, nav: 'deliveries' });
  }

  @Get('deliveries/:id')
  async delivery(@Req() req: WebRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const d = await this.queries.getDelivery(this.scope(req), id);
    const body: Html = deliveryPage(d, {
      links: LINKS,
      redeliverAction: `/portal/deliveries/${d.id}/redeliver`,
      redeliverLabel: 'Send again',
      csrf: req.web?.csrf ?? null,
      showApplication: false,
    });
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
