import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { deriveWebKey, macMatches, macOf, openJson, sealJson } from '@tern/core';
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';

export type WebArea = 'dashboard' | 'portal';
export type WebRole = 'admin' | 'support' | 'application';

/**
 * What a session cookie holds (HMAC-signed, never the API key): who signed in and until when. `subject` is
 * "admin", the support key's id, or (portal) the application's id.
 */
export interface WebSession {
  area: WebArea;
  role: WebRole;
  subject: string;
  /** Shown in the page header: the key's id, or the application's name. */
  label: string;
  /** Expiry, unix seconds. */
  exp: number;
  /** Random per sign-in; the CSRF token of the session is a MAC of it. */
  sid: string;
  /** Portal: the application's portal session epoch at sign-in (the session ends when it changes). */
  epoch?: number;
}

export interface Flash {
  kind: 'ok' | 'error';
  message: string;
  /** An optional link shown after the message. */
  href?: string;
  linkText?: string;
}

export const SESSION_COOKIE: Record<WebArea, string> = { dashboard: 'tern_dashboard', portal: 'tern_portal' };
export const AREA_PATH: Record<WebArea, string> = { dashboard: '/dashboard', portal: '/portal' };
const FLASH_COOKIE = 'tern_flash';
const FLASH_SECONDS = 60;

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function isSession(v: unknown): v is WebSession {
  const s = v as WebSession;
  return (
    !!s &&
    typeof s === 'object' &&
    (s.area === 'dashboard' || s.area === 'portal') &&
    (s.role === 'admin' || s.role === 'support' || s.role === 'application') &&
    typeof s.subject === 'string' &&
    typeof s.label === 'string' &&
    typeof s.exp === 'number' &&
    typeof s.sid === 'string' &&
    (s.epoch === undefined || typeof s.epoch === 'number')
  );
}

/**
 * Session and flash cookies of the dashboard and the portal: HMAC-signed (keys derived from the required secrets),
 * httpOnly, SameSite=Strict, scoped to /dashboard or /portal, Secure when the API is reached over https.
 */
@Injectable()
export class WebSessions {
  private readonly sessionKey: Buffer;
  private readonly csrfKey: Buffer;
  private readonly flashKey: Buffer;

  constructor(private readonly config: AppConfig) {
    this.sessionKey = deriveWebKey(config, 'web-session');
    this.csrfKey = deriveWebKey(config, 'csrf');
    this.flashKey = deriveWebKey(config, 'flash');
  }

  /**
   * Signs in: sets the area's session cookie. The session ends after DASHBOARD_SESSION_TTL_SECONDS, or at
   * `expiresAt` when that is given (a portal session: the link's expiry or PORTAL_SESSION_TTL_SECONDS).
   */
  start(
    req: Request,
    res: Response,
    fields: Pick<WebSession, 'area' | 'role' | 'subject' | 'label' | 'epoch'>,
    expiresAt?: Date,
    now = Date.now(),
  ): WebSession {
    const end = expiresAt ? expiresAt.getTime() : now + this.config.DASHBOARD_SESSION_TTL_SECONDS * 1000;
    const exp = Math.floor(end / 1000);
    const session: WebSession = { ...fields, exp, sid: randomBytes(16).toString('base64url') };
    this.setCookie(req, res, SESSION_COOKIE[fields.area], sealJson(this.sessionKey, session), {
      path: AREA_PATH[fields.area],
      maxAge: Math.max(0, exp - Math.floor(now / 1000)),
    });
    return session;
  }

  end(req: Request, res: Response, area: WebArea): void {
    this.setCookie(req, res, SESSION_COOKIE[area], '', { path: AREA_PATH[area], maxAge: 0 });
  }

  /** The area's session, when the cookie is genuine, of that area and not expired. */
  read(req: Request, area: WebArea, now = Date.now()): WebSession | null {
    const v = openJson(this.sessionKey, readCookie(req, SESSION_COOKIE[area]));
    if (!isSession(v) || v.area !== area || v.exp * 1000 <= now) return null;
    return v;
  }

  csrfToken(session: WebSession): string {
    return macOf(this.csrfKey, `${session.area}|${session.sid}`);
  }

  csrfMatches(session: WebSession, token: unknown): boolean {
    return typeof token === 'string' && macMatches(this.csrfKey, `${session.area}|${session.sid}`, token);
  }

  /** A message for the next page this browser loads (after a redirect). */
  flash(req: Request, res: Response, flash: Flash): void {
    this.setCookie(
      req,
      res,
      FLASH_COOKIE,
      sealJson(this.flashKey, { ...flash, exp: Math.floor(Date.now() / 1000) + FLASH_SECONDS }),
      { path: '/', maxAge: FLASH_SECONDS },
    );
  }

  /** The pending flash message, removed (shown once). */
  takeFlash(req: Request, res: Response): Flash | null {
    const raw = readCookie(req, FLASH_COOKIE);
    if (raw === undefined) return null;
    this.setCookie(req, res, FLASH_COOKIE, '', { path: '/', maxAge: 0 });
    const v = openJson(this.flashKey, raw) as (Flash & { exp: number }) | null;
    if (!v || typeof v.message !== 'string' || typeof v.exp !== 'number' || v.exp * 1000 < Date.now()) {
      return null;
    }
    return {
      kind: v.kind === 'error' ? 'error' : 'ok',
      message: v.message,
      ...(typeof v.href === 'string' && v.href.startsWith('/') && !v.href.startsWith('//')
        ? { href: v.href, linkText: typeof v.linkText === 'string' ? v.linkText : v.href }
        : {}),
    };
  }

  /** Where browsers reach this API: PUBLIC_URL, else the request's scheme and Host. */
  baseUrl(req: Request): string {
    if (this.config.PUBLIC_URL) return this.config.PUBLIC_URL.replace(/\/+$/, '');
    return `${req.protocol}://${req.get('host') ?? `${this.config.HOST}:${this.config.PORT}`}`;
  }

  private secure(req: Request): boolean {
    return req.secure || this.config.PUBLIC_URL.startsWith('https://');
  }

  private setCookie(
    req: Request,
    res: Response,
    name: string,
    value: string,
    opts: { path: string; maxAge: number },
  ): void {
    const parts = [
      `${name}=${value}`,
      `Path=${opts.path}`,
      `Max-Age=${opts.maxAge}`,
      'HttpOnly',
      'SameSite=Strict',
    ];
    if (opts.maxAge === 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    if (this.secure(req)) parts.push('Secure');
    res.append('Set-Cookie', parts.join('; '));
  }
}
