import type {
  DeliveryDetailView,
  DeliveryStatus,
  DeliveryView,
  EndpointStatsView,
  EndpointView,
  FieldProblem,
  Page,
} from '@tern/core';
import { badge, csrfField, healthBlock, idLink, pageHead, pager, when } from '../components';
import {
  deliveriesTable,
  DeliveryLinks,
  deliveryPage as deliveryDetail,
  statusTabs,
  TableLabels,
} from '../delivery-page';
import { circuitBadge, circuitNotice, endpointGrid, eventTypesText } from '../endpoint-card';
import { endpointForm, EndpointFormValues } from '../endpoint-form';
import { Html, html, queryString } from '../html';
import { WEB_ASSETS } from '../web-assets';

/**
 * The customer portal's pages, as pure functions of what the controller fetched: (view model) → Html. No I/O,
 * no request; the controller (portal.controller.ts) authorises, fetches and renders them in the layout.
 */

/** Where the portal links each kind of id (never to another application's pages: there are none). */
export const LINKS: DeliveryLinks & { endpoint: (id: string) => string } = {
  delivery: (id) => `/portal/deliveries/${id}`,
  endpoint: (id) => `/portal/endpoints/${id}`,
};

/** The endpoint form, empty. */
export const EMPTY_FORM: EndpointFormValues = {
  url: '',
  description: '',
  eventTypes: '',
  disabled: false,
  disabledReason: '',
  filter: '',
};

/** The endpoint form, filled with an endpoint's settings. */
export function formValues(ep: EndpointView): EndpointFormValues {
  return {
    url: ep.url,
    description: ep.description,
    eventTypes: ep.eventTypes.join(', '),
    disabled: ep.disabled,
    disabledReason: ep.disabledReason ?? '',
    filter: ep.filter?.text ?? '',
  };
}

/** Where a portal link lands: its token is in the URL fragment, which a small script posts back. */
export function enterPage(): Html {
  return html`<div class="center card">
      <h1>Opening the webhooks portal…</h1>
      <form id="enter" method="post" action="/portal/enter">
        <input type="hidden" name="token" value="" />
      </form>
      <p id="missing" class="flash error" hidden>
        This link is incomplete. Open the webhooks portal again from your application.
      </p>
      <noscript><p class="flash error">This page needs JavaScript to read the portal link.</p></noscript>
    </div>
    <script src="${WEB_ASSETS.portalEnter.url}" defer></script>`;
}

/** After signing out. */
export function leftPage(): Html {
  return html`<div class="center card">
    <h1>You have left the webhooks portal</h1>
    <p class="muted">Open it again from your application whenever you need it.</p>
  </div>`;
}

/** The application's endpoints, each with its health. */
export function endpointsPage(vm: {
  page: Page<EndpointView>;
  stats: EndpointStatsView[];
  cursor: string | undefined;
}): Html {
  const { page, stats, cursor } = vm;
  return html`${pageHead(
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
}

/** The form to add an endpoint (again with the values and problems of a refused submission). */
export function newEndpointPage(vm: {
  values: EndpointFormValues;
  problems: FieldProblem[];
  csrf: string | null;
}): Html {
  const { values, problems, csrf } = vm;
  return html`${pageHead('Add endpoint', 'Tern signs every webhook; the signing secret is shown on the next page.')}
    <section class="card">
      ${endpointForm({
        action: '/portal/endpoints',
        values,
        problems,
        csrf,
        submitLabel: 'Add endpoint',
        withDisabled: false,
      })}
    </section>`;
}

/**
 * One endpoint: state and circuit, health, signing secret (shown when `secret` is given), settings and its latest
 * deliveries.
 */
export function endpointPage(vm: {
  ep: EndpointView;
  stats: EndpointStatsView;
  recent: DeliveryView[];
  secret: { secret: string; createdAt: string } | null;
  values: EndpointFormValues;
  problems: FieldProblem[];
  csrf: string | null;
  /** How long a rotated-out secret keeps signing, in hours. */
  overlapHours: number;
}): Html {
  const { ep, stats, recent, secret, values, problems, csrf, overlapHours } = vm;
  return html`${pageHead(
      html`<span class="mono">${ep.url}</span> ${ep.disabled ? badge('disabled') : badge('enabled')}
        ${circuitBadge(ep.circuit)}`,
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
    ${circuitNotice(ep.circuit)}
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
    ${deliveriesTable(recent, LINKS, { showApplication: false, showEndpoint: false })}`;
}

/** The application's deliveries, optionally of one endpoint and one status. */
export function deliveriesPage(vm: {
  endpoint: string | undefined;
  status: DeliveryStatus | undefined;
  page: Page<DeliveryView>;
  labels: TableLabels;
  cursor: string | undefined;
}): Html {
  const { endpoint, status, page, labels, cursor } = vm;
  return html`${pageHead('Deliveries', 'Every webhook sent to your endpoints, newest first. Open one to see each attempt.')}
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
}

/** One delivery and its attempts; "Send again" when it has finished. */
export function deliveryPage(d: DeliveryDetailView, csrf: string | null): Html {
  return deliveryDetail(d, {
    links: LINKS,
    redeliverAction: `/portal/deliveries/${d.id}/redeliver`,
    redeliverLabel: 'Send again',
    csrf,
    showApplication: false,
  });
}
