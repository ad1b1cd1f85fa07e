import { csrfField } from './components';
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

/** A top navigation entry, marked when it is the active one. */
function navLink(o: LayoutOptions, key: string, href: string, label: string): Html {
  return html`<a href="${href}" class="${o.nav === key ? 'active' : ''}">${label}</a>`;
}

/** The header's sign-out button: a POST with the CSRF token. */
function logoutForm(o: LayoutOptions, action: string, label: string): Html {
  return html`<form method="post" action="${action}">
    ${csrfField(o.csrf)}<button class="link" type="submit">${label}</button>
  </form>`;
}

function dashboardHeader(o: LayoutOptions): Html {
  const s = o.session;
  return html`<header class="top">
    <div class="wrap">
      <a class="brand" href="/dashboard">Tern<span>support</span></a>
      ${
        s
          ? html`<nav>
                ${[
                  navLink(o, 'apps', '/dashboard', 'Applications'),
                  navLink(o, 'deliveries', '/dashboard/deliveries', 'Deliveries'),
                ]}
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
                ${logoutForm(o, '/dashboard/logout', 'Sign out')}
              </div>`
          : ''
      }
    </div>
  </header>`;
}

function portalHeader(o: LayoutOptions): Html {
  const s = o.session;
  return html`<header class="top">
    <div class="wrap">
      <a class="brand" href="/portal">${s ? s.label : 'Webhooks'}<span>webhooks</span></a>
      ${
        s
          ? html`<nav>
                ${[
                  navLink(o, 'endpoints', '/portal', 'Endpoints'),
                  navLink(o, 'deliveries', '/portal/deliveries', 'Deliveries'),
                ]}
              </nav>
              <div class="who">
                <span class="pill">${retentionText(o.retentionDays)}</span>
                ${logoutForm(o, '/portal/logout', 'Leave portal')}
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
