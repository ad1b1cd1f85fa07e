import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeysRepository, DomainError, PortalLinksService } from '@tern/core';
import type { Request } from 'express';
import { readCookie, SESSION_COOKIE, WebArea, WebSession, WebSessions } from './web-session';

const AREA_KEY = 'tern:web-area';
const PUBLIC_KEY = 'tern:web-public';

/** Marks a controller's pages as the dashboard's or the portal's (which session cookie they need). */
export const WebPages = (area: WebArea) => SetMetadata(AREA_KEY, area);
/** A page that needs no session (sign-in, portal link). */
export const PublicPage = () => SetMetadata(PUBLIC_KEY, true);

/** No valid session: the dashboard redirects to its sign-in page, the portal says the link must be reopened. */
export class SignInRequired extends Error {
  constructor(
    readonly area: WebArea,
    /** A cookie was there but is no longer valid (expired, key revoked, secrets changed). */
    readonly ended: boolean,
  ) {
    super('Sign-in required');
  }
}

export interface WebState {
  area: WebArea;
  session: WebSession | null;
  csrf: string | null;
}

export type WebRequest = Request & { web?: WebState; body?: Record<string, unknown> };

/** The session of a page whose guard let it through (its area's pages always have one unless @PublicPage). */
export function sessionOf(req: WebRequest): WebSession {
  const s = req.web?.session;
  if (!s) throw new SignInRequired(req.web?.area ?? 'dashboard', false);
  return s;
}

/** Form field as a string ('' when absent or not a string). */
export function field(req: WebRequest, name: string): string {
  const v = req.body?.[name];
  return typeof v === 'string' ? v : '';
}

/**
 * Checks the session cookie of @WebPages controllers. Every POST must come from this origin (Origin and
 * Sec-Fetch-Site, when the browser sends them) and, unless @PublicPage, carry the session's CSRF token in `_csrf`.
 * A support session ends as soon as its key is revoked; a portal session as soon as its application's portal
 * sessions are ended.
 */
@Injectable()
export class WebSessionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: WebSessions,
    private readonly apiKeys: ApiKeysRepository,
    private readonly portal: PortalLinksService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    const area = this.reflector.getAllAndOverride<WebArea | undefined>(AREA_KEY, targets);
    if (!area) return true;
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, targets) === true;
    const req = ctx.switchToHttp().getRequest<WebRequest>();
    const post = req.method !== 'GET' && req.method !== 'HEAD';
    if (post) assertSameOrigin(req);

    let session = this.sessions.read(req, area);
    if (session?.role === 'support') {
      const key = await this.apiKeys.findActive(session.subject);
      if (!key || key.role !== 'support') session = null;
    }
    // A portal session ends when its application's portal sessions were ended (a key revoked, or by the admin).
    if (session?.role === 'application') {
      const valid =
        session.epoch !== undefined && (await this.portal.sessionValid(session.subject, session.epoch));
      if (!valid) session = null;
    }
    if (session && (area === 'portal') !== (session.role === 'application')) session = null;
    req.web = { area, session, csrf: session ? this.sessions.csrfToken(session) : null };
    if (isPublic) return true;
    if (!session) throw new SignInRequired(area, readCookie(req, SESSION_COOKIE[area]) !== undefined);
    if (post && !this.sessions.csrfMatches(session, req.body?._csrf)) {
      throw new DomainError(
        403,
        'This form has expired or did not come from this page. Reload the page and try again.',
      );
    }
    return true;
  }
}

function assertSameOrigin(req: Request): void {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    throw new DomainError(403, 'Forms can only be sent from this site');
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let host: string | null;
    try {
      host = origin === 'null' ? null : new URL(origin).host;
    } catch {
      host = null;
    }
    if (host === null || host !== req.headers.host)
      throw new DomainError(403, 'Forms can only be sent from this site');
  }
}
