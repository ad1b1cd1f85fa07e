import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import type { Response } from 'express';
import { Html } from './html';
import { layout } from './layout';
import type { WebRequest } from './web-auth';
import { Flash, WebArea, WebSessions } from './web-session';

/** Headers of every dashboard and portal page: no caching, no framing, scripts and styles from this origin only. */
const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

export interface PageOptions {
  title: string;
  body: Html;
  status?: number;
  nav?: string;
  search?: string;
  /** Shown instead of (or when there is none, as) the flash message carried over from a redirect. */
  flash?: Flash;
}

@Injectable()
export class WebRenderer {
  constructor(
    private readonly config: AppConfig,
    private readonly sessions: WebSessions,
  ) {}

  /** Events and attempts are kept for this many days (0 = forever). */
  get retentionDays(): number {
    const v = (this.config as unknown as Record<string, unknown>).RETENTION_DAYS;
    return typeof v === 'number' ? v : 30;
  }

  page(req: WebRequest, res: Response, o: PageOptions, area?: WebArea): void {
    const carried = this.sessions.takeFlash(req, res);
    const web = req.web;
    const body = layout({
      area: area ?? web?.area ?? (req.path.startsWith('/portal') ? 'portal' : 'dashboard'),
      title: o.title,
      body: o.body,
      session: web?.session ?? null,
      csrf: web?.csrf ?? null,
      flash: o.flash ?? carried,
      retentionDays: this.retentionDays,
      nav: o.nav,
      search: o.search,
    });
    res
      .status(o.status ?? 200)
      .set(PAGE_HEADERS)
      .send(body.value);
  }

  /** POST → 303 → GET, with an optional message for the next page. */
  redirect(req: WebRequest, res: Response, to: string, flash?: Flash): void {
    if (flash) this.sessions.flash(req, res, flash);
    res.set('cache-control', 'no-store').redirect(303, to);
  }
}
