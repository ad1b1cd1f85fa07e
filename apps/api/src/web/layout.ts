import { Html, html } from './html';
import { WEB_ASSETS } from './web-assets';
import type { Flash, WebArea, WebSession } from './web-session';

export interface LayoutOptions {
  area: WebArea;
  title: string;
  body: Html;
  session: WebSession | null;
  csrf: string | null;
  flash: Flash | null;
  /** RETENTION_DAYS (0 = kept forever). */
  retentionDays: number;
  /** The active top navigation entry. */
  nav?: string;
  /** Text to put back in the search box. */
  search?: string;
}

export function retentionText(days: number): string {
  return days > 0 ? `History kept for ${days} days` : 'History kept indefinitely';
}

function dashboardHeader(o: LayoutOptions): Html {
  const s = o.session;
  const nav = (key: string, href: string, label: string) =>
    html`<a href="${href}" class="${o.nav === key ? 'active' : ''}">${label}</a>`;
  return html`<header class="top">
    <div class="wrap">
      <a class="brand" href="/dashboard">Tern<span>support</span></a>
      ${
        s
          ? html`<nav>
                ${nav('apps', '/dashboard', 'Applications')}${nav('deliveries', '/dashboard/deliveries', 'Deliveries')}
              </nav>
              <form class="search" action="/dashboard/search" method="get" role="search">
                <input
                  type="text"
                  name="q"
                  value="${o.search ?? ''}"
                  placeholder="evt_… dlv_… ep_… app_… or URL"
                  aria-label="Search"
                />
                <button class="btn" type="submit">Find</button>
              </form>
              <div class="who">
                <span class="pill" title="${retentionText(o.retentionDays)}"
                  >${retentionText(o.retentionDays)}</span
                >
                <span
                  >${s.role === 'admin' ? 'admin' : html`support <span class="mono">${s.label}</span>`}</span
                >
                <form method="post" action="/dashboard/logout">
                  <input type="hidden" name="_csrf" value="${o.csrf ?? ''}" /><button
                    class="link"
                    type="submit"
                  >
                    Sign out
                  </button>
                </form>
              </div>`
          : ''
      }
    </div>
  </header>`;
}

function portalHeader(o: LayoutOptions): Html {
  const s = o.session;
  const nav = (key: string, href: string, label: string) =>
    html`<a href="${href}" class="${o.nav === key ? 'active' : ''}">${label}</a>`;
  return html`<header class="top">
    <div class="wrap">
      <a class="brand" href="/portal">${s ? s.label : 'Webhooks'}<span>webhooks</span></a>
      ${
        s
          ? html`<nav>
                ${nav('endpoints', '/portal', 'Endpoints')}${nav('deliveries', '/portal/deliveries', 'Deliveries')}
              </nav>
              <div class="who">
                <span class="pill">${retentionText(o.retentionDays)}</span>
                <form method="post" action="/portal/logout">
                  <input type="hidden" name="_csrf" value="${o.csrf ?? ''}" /><button
                    class="link"
                    type="submit"
                  >
                    Leave portal
                  </button>
                </form>
              </div>`
          : ''
      }
    </div>
  </header>`;
}

export function layout(o: LayoutOptions): Html {
  const flash = o.flash
    ? html`<div class="flash ${o.flash.kind}" role="status" data-testid="flash">
        ${o.flash.message}${o.flash.href ? html`<a href="${o.flash.href}">${o.flash.linkText ?? 'Open'}</a>` : ''}
      </div>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>${o.title} · ${o.area === 'dashboard' ? 'Tern support' : 'Webhooks'}</title>
        <link rel="stylesheet" href="${WEB_ASSETS.css.url}" />
      </head>
      <body class="area-${o.area}">
        ${o.area === 'dashboard' ? dashboardHeader(o) : portalHeader(o)}
        <main class="wrap">${flash}${o.body}</main>
        <footer class="wrap">
          ${retentionText(o.retentionDays)}: older events, deliveries and attempts are deleted. Times are UTC.
        </footer>
      </body>
    </html>`;
}
