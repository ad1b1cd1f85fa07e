import { ApiMetrics } from '@tern/observability';
import type { NextFunction, Request, Response } from 'express';

/** The route label of requests no route matched (unknown paths, bodies rejected before routing). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Times every request into tern_http_request_duration_seconds, labelled with the route template (never the raw
 * path, so ids don't multiply the series), the method and the status code.
 */
export function httpMetrics(metrics: ApiMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const end = metrics.httpRequestDuration.startTimer();
    res.once('finish', () => {
      const path = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof path === 'string' ? `${req.baseUrl}${path}` : UNMATCHED_ROUTE;
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  };
}
