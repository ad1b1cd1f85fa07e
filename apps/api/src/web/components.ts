import type { EndpointStatsView, FieldProblem, RawJson } from '@tern/core';
import { Html, html, HtmlValue, queryString } from './html';

const BADGE_CLASSES = new Set([
  'succeeded',
  'failed',
  'pending',
  'retrying',
  'interrupted',
  'superseded',
  'enabled',
  'disabled',
  'ok',
  'bad',
  'warn',
]);

/** A coloured status badge (succeeded green, failed red, pending/retrying amber, other grey). */
export function badge(status: string, text: string = status): Html {
  const cls = BADGE_CLASSES.has(status) ? `badge b-${status}` : 'badge';
  return html`<span class="${cls}" data-status="${status}">${text}</span>`;
}

export function absoluteTime(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago"; "in 5 s" for future times. */
export function relativeTime(d: Date, now = new Date()): string {
  const diff = Math.round((now.getTime() - d.getTime()) / 1000);
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 5) return 'just now';
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)} min`;
  else if (abs < 86400 * 2) text = `${Math.floor(abs / 3600)} h`;
  else text = `${Math.floor(abs / 86400)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** A time shown both ways: relative, and absolute (UTC) underneath (or beside it with `inline`). */
export function when(iso: string | null | undefined, opts: { inline?: boolean; empty?: string } = {}): Html {
  if (!iso) return html`<span class="faint">${opts.empty ?? '—'}</span>`;
  const d = new Date(iso);
  const abs = absoluteTime(d);
  return html`<time class="when${opts.inline ? ' inline' : ''}" datetime="${iso}" title="${abs}"
    ><span class="rel">${relativeTime(d)}</span><span class="abs">${abs}</span></time
  >`;
}

export function mono(text: string): Html {
  return html`<span class="mono">${text}</span>`;
}

/** An id in monospace, linked when there is somewhere to go. */
export function idLink(id: string, href?: string): Html {
  return href ? html`<a class="mono" href="${href}">${id}</a>` : mono(id);
}

export function percent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return '—';
  const p = rate * 100;
  return `${p === 100 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

export function millis(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function kv(rows: [string, HtmlValue][]): Html {
  return html`<dl class="kv">
    ${rows.map(
      ([k, v]) =>
        html`<dt>${k}</dt>
          <dd>${v}</dd>`,
    )}
  </dl>`;
}

export function headersTable(headers: Record<string, string> | null | undefined): Html {
  const entries = Object.entries(headers ?? {});
  if (entries.length === 0) return html`<p class="faint small">none recorded</p>`;
  return html`<table class="headers">
    ${entries.map(
      ([k, v]) =>
        html`<tr>
          <td>${k}</td>
          <td>${v}</td>
        </tr>`,
    )}
  </table>`;
}

/** JSON pretty-printed when the text is JSON; otherwise as it is. */
export function prettyBody(text: string | null | undefined): Html {
  if (text === null || text === undefined || text === '') return html`<p class="faint small">empty</p>`;
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    /* not JSON */
  }
  return html`<pre>${shown}</pre>`;
}

/** An event payload exactly as the producer sent it (not re-indented: the same text the receiver got). */
export function payloadText(payload: RawJson): Html {
  return html`<pre class="payload">${payload.text}</pre>`;
}

/** A page's heading: the title, the line under it and the actions beside it (each left out when not given). */
export function pageHead(title: HtmlValue, sub?: HtmlValue, actions?: HtmlValue): Html {
  return html`<div class="page-head">
    <div>
      <h1>${title}</h1>
      ${sub === undefined ? '' : html`<div class="sub">${sub}</div>`}
    </div>
    ${actions === undefined ? '' : html`<div class="actions">${actions}</div>`}
  </div>`;
}

export function csrfField(csrf: string | null | undefined): Html {
  return html`<input type="hidden" name="_csrf" value="${csrf ?? ''}" />`;
}

/** The problems of one form field, under it. */
export function fieldErrors(problems: FieldProblem[], field: string): Html {
  const mine = problems.filter(
    (p) => p.field === field || p.field.startsWith(`${field}.`) || p.field.startsWith(`${field}[`),
  );
  return html`${mine.map((p) => html`<div class="field-error" data-field="${p.field}">${fieldLabel(p.field)} ${p.reason}</div>`)}`;
}

function fieldLabel(field: string): string {
  return field.replace(/^eventTypes\[\d+\]$/, 'event type').replace(/^eventTypes$/, 'event types');
}

/** Problems not tied to a field the form shows. */
export function otherErrors(problems: FieldProblem[], shown: string[]): Html {
  const rest = problems.filter(
    (p) => !shown.some((f) => p.field === f || p.field.startsWith(`${f}.`) || p.field.startsWith(`${f}[`)),
  );
  if (rest.length === 0) return html``;
  return html`<div class="flash error">${rest.map((p) => html`<div>${p.field}: ${p.reason}</div>`)}</div>`;
}

/** Keyset pagination: back to the newest page, and on to older ones. */
export function pager(
  path: string,
  params: Record<string, string | undefined>,
  nextCursor: string | null,
  paged: boolean,
): Html {
  if (!nextCursor && !paged) return html``;
  return html`<div class="pager">
    ${paged ? html`<a href="${path}${queryString({ ...params, cursor: undefined })}">« Newest</a>` : ''}
    ${
      nextCursor
        ? html`<a href="${path}${queryString({ ...params, cursor: nextCursor })}" data-testid="older"
            >Older »</a
          >`
        : html`<span class="faint">No older entries</span>`
    }
  </div>`;
}

export function tabs(items: { href: string; label: string; active: boolean }[]): Html {
  return html`<nav class="tabs">
    ${items.map((t) => html`<a href="${t.href}" class="${t.active ? 'active' : ''}">${t.label}</a>`)}
  </nav>`;
}

/**
 * Attempts per hour over the last 24 hours as stacked bars: succeeded (green) under not succeeded (red). Bar
 * height is relative to the busiest hour; every bar has a tooltip with its numbers.
 */
export function hourlyChart(hourly: EndpointStatsView['hourly']): Html {
  const W = 240;
  const H = 56;
  const slot = W / Math.max(1, hourly.length);
  const barW = slot - 2;
  const max = Math.max(1, ...hourly.map((h) => h.attempts));
  const bars = hourly.map((h, i) => {
    const x = (i * slot + 1).toFixed(1);
    const total = (h.attempts / max) * (H - 2);
    const ok = (h.succeeded / max) * (H - 2);
    const hour = h.hour.slice(11, 16);
    const title =
      h.attempts === 0
        ? `${hour} UTC: no attempts`
        : `${hour} UTC: ${h.attempts} attempts, ${h.succeeded} succeeded (${percent(h.succeeded / h.attempts)})`;
    if (h.attempts === 0) {
      return html`<g
        ><title>${title}</title
        ><rect x="${x}" y="${H - 2}" width="${barW.toFixed(1)}" height="2" fill="#dde1e7"
      /></g>`;
    }
    return html`<g data-hour="${h.hour}">
      <title>${title}</title>
      <rect
        x="${x}"
        y="${(H - total).toFixed(1)}"
        width="${barW.toFixed(1)}"
        height="${(total - ok).toFixed(1)}"
        fill="#e5483a"
      />
      <rect
        x="${x}"
        y="${(H - ok).toFixed(1)}"
        width="${barW.toFixed(1)}"
        height="${ok.toFixed(1)}"
        fill="#3fb364"
      />
    </g>`;
  });
  const attempts = hourly.reduce((n, h) => n + h.attempts, 0);
  const succeeded = hourly.reduce((n, h) => n + h.succeeded, 0);
  const label = attempts
    ? `Last 24 hours: ${attempts} attempts, ${percent(succeeded / attempts)} succeeded`
    : 'Last 24 hours: no attempts';
  return html`<div>
    <svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${label}">
      <title>${label}</title>
      ${bars}
    </svg>
    <div class="chart-legend">
      <span>24 h ago</span><span>attempts per hour: succeeded / failed</span><span>now</span>
    </div>
  </div>`;
}

function rateClass(rate: number | null): string {
  if (rate === null) return '';
  if (rate >= 0.99) return 'good';
  if (rate >= 0.9) return 'warn';
  return 'bad';
}

function stat(label: string, value: string, cls = ''): Html {
  return html`<div class="stat">
    <div class="label">${label}</div>
    <div class="value ${cls}">${value}</div>
  </div>`;
}

/** An endpoint's health: the chart, 24 h success rate, p50/p95, failure streak and the last error. */
export function healthBlock(stats: EndpointStatsView, deliveryHref: (id: string) => string): Html {
  const day = stats.windows.day;
  const e = stats.lastError;
  return html`<div class="health">
    ${hourlyChart(stats.hourly)}
    <div class="stats">
      ${stat('Success 24 h', percent(day.successRate), rateClass(day.successRate))}
      ${stat('Attempts 24 h', count(day.attempts))}
      ${stat('p50 / p95', day.p50DurationMs === null ? '—' : `${millis(day.p50DurationMs)} / ${millis(day.p95DurationMs)}`)}
      ${stat('Failure streak', count(stats.failureStreak), stats.failureStreak > 0 ? 'bad' : '')}
    </div>
    ${
      e
        ? html`<div class="lasterror">
            Last error ${when(e.at, { inline: true })}:
            <strong>${e.status !== null ? `HTTP ${e.status}` : (e.class ?? e.outcome)}</strong>
            ${e.message && e.message !== `HTTP ${e.status}` ? html`— ${e.message.slice(0, 200)}` : ''} ·
            <a href="${deliveryHref(e.deliveryId)}">delivery</a>
          </div>`
        : ''
    }
  </div>`;
}
