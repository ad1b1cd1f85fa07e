import { ApiKeysService, AuthThrottle, Principal, retryAfterSeconds } from '@tern/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApiErrorBody } from './api-error.filter';

/** The Bearer token of a request, or null. */
export function bearerToken(req: Request): string | null {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? null;
}

/** The client address the authentication budgets count against (no proxy is trusted: the socket's peer). */
export function clientIp(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * Authenticates every `/v1` request before its body is read (it is mounted ahead of the JSON parser): without a
 * valid key the answer is 401 — or 429 + Retry-After once the address spent its failed-authentication budget
 * (AuthThrottle) — and the body is never parsed; the connection is closed rather than drained. With a valid key
 * the principal is left on the request for AuthGuard, which still decides whether that kind of key may call the
 * route (403). If the key can't be checked (Postgres down), the request goes on unauthenticated and AuthGuard
 * checks it again, so the error gets the API's usual 503.
 */
export function apiAuthentication(apiKeys: ApiKeysService, throttle: AuthThrottle): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req);
    if (!token) return refuse(res, 401, 'Missing API key: send "Authorization: Bearer <key>"');
    const ip = clientIp(req);
    void (async () => {
      const checked = await throttle.check(ip, token);
      if (checked.waitMs > 0) return refuseThrottled(res, checked.waitMs);
      let principal: Principal | null;
      try {
        principal = await apiKeys.authenticate(token);
      } catch {
        return next();
      }
      if (!principal) {
        await throttle.failed(ip, token);
        return refuse(res, 401, 'Invalid API key');
      }
      await throttle.succeeded(ip, token, checked);
      (req as Request & { principal?: Principal }).principal = principal;
      next();
    })().catch(next);
  };
}

/** 429 with Retry-After in whole seconds (at least 1). */
function refuseThrottled(res: Response, waitMs: number): void {
  const seconds = retryAfterSeconds(waitMs);
  res.setHeader('retry-after', String(seconds));
  refuse(res, 429, `Too many failed authentications from this address; retry after ${seconds} s`);
}

function refuse(res: Response, status: 401 | 429, message: string): void {
  const body: ApiErrorBody = {
    status,
    error: status === 401 ? 'unauthorized' : 'too_many_requests',
    message,
    requestId: (res.req as Request & { id?: string }).id,
  };
  // The body was not read: don't keep the connection to drain it.
  res.setHeader('connection', 'close');
  if (status === 401) res.setHeader('www-authenticate', 'Bearer');
  res.status(status).json(body);
}
