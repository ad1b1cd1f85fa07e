import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { DomainError, FieldProblem } from '@tern/core';
import { databaseFailure } from '@tern/database';
import type { Request, Response } from 'express';

/** The one error shape of the API: { status, error, message, fields? }. */
export interface ApiErrorBody {
  status: number;
  error: string;
  message: string;
  fields?: FieldProblem[];
  requestId?: string;
  /** On 503: the dependency that is unavailable. */
  dependency?: string;
}

/** Retry-After (seconds) sent with a 503 while a dependency is down: a few seconds, as a restart takes. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'too_many_requests',
  500: 'internal_error',
  503: 'service_unavailable',
};

@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const failure = databaseFailure(exception);
    if (failure.kind === 'unavailable') {
      // Nothing was accepted (the write, if any, did not commit or is unknown): the client retries, with the same
      // idempotency key, after Retry-After.
      this.logger.warn(
        `${req.method} ${req.path}: PostgreSQL unavailable (${failure.sqlState ?? 'not reachable'})`,
      );
      if (!res.headersSent) {
        res
          .status(503)
          .setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS))
          .json({
            status: 503,
            error: CODES[503],
            message: 'PostgreSQL is unavailable; retry after a few seconds (same idempotency key)',
            dependency: 'postgres',
            requestId: (req as Request & { id?: string }).id,
          } satisfies ApiErrorBody);
      }
      return;
    }
    const body = this.toBody(exception);
    body.requestId = (req as Request & { id?: string }).id;
    if (body.status >= 500) {
      this.logger.error(
        `${req.method} ${req.path} failed: ${(exception as Error)?.stack ?? String(exception)}`,
      );
    }
    if (!res.headersSent) res.status(body.status).json(body);
  }

  private toBody(exception: unknown): ApiErrorBody {
    if (exception instanceof DomainError) {
      return {
        status: exception.status,
        error: CODES[exception.status] ?? 'error',
        message: exception.message,
        ...(exception.fields ? { fields: exception.fields } : {}),
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const r = exception.getResponse() as string | { message?: unknown; fields?: FieldProblem[] };
      const message =
        typeof r === 'string'
          ? r
          : Array.isArray(r.message)
            ? r.message.join('; ')
            : typeof r.message === 'string'
              ? r.message
              : exception.message;
      return {
        status,
        error: CODES[status] ?? 'error',
        message,
        ...(typeof r === 'object' && r.fields ? { fields: r.fields } : {}),
      };
    }
    // body-parser errors (malformed JSON, body too large, bad charset) carry status and type.
    const e = exception as { status?: number; statusCode?: number; type?: string; message?: string };
    const status = e?.status ?? e?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500 && typeof e.type === 'string') {
      const message =
        e.type === 'entity.parse.failed'
          ? 'Request body is not valid JSON'
          : e.type === 'entity.too.large'
            ? 'Request body is too large'
            : (e.message ?? 'Bad request');
      return { status, error: CODES[status] ?? 'bad_request', message };
    }
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      error: 'internal_error',
      message: 'Internal server error',
    };
  }
}
