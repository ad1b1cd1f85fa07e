import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Injectable, Logger } from '@nestjs/common';
import { DomainError } from '@tern/core';
import type { Response } from 'express';
import { html } from './html';
import { SignInRequired, WebRequest } from './web-auth';
import { WebRenderer } from './web-renderer';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Not signed in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  410: 'Expired',
  413: 'Too large',
  422: 'Invalid input',
};

/** Errors of dashboard and portal pages as HTML pages (the API's JSON filter stays for /v1). */
@Catch()
@Injectable()
export class WebErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('WebErrorFilter');

  constructor(private readonly renderer: WebRenderer) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<WebRequest>();
    const res = ctx.getResponse<Response>();
    if (res.headersSent) return;
    const area = req.web?.area ?? (req.path.startsWith('/portal') ? 'portal' : 'dashboard');

    if (exception instanceof SignInRequired) {
      if (area === 'dashboard') {
        const next = req.method === 'GET' ? req.originalUrl : '/dashboard';
        res
          .set('cache-control', 'no-store')
          .redirect(303, `/dashboard/login?next=${encodeURIComponent(next)}`);
        return;
      }
      this.renderer.page(
        req,
        res,
        {
          status: 401,
          title: 'Portal session ended',
          body: html`<div class="center card">
            <h1>
              ${exception.ended ? 'Your portal session has ended' : 'Open the portal from your account'}
            </h1>
            <p class="muted">
              This page is reached through a portal link from the application you use. Go back to it and open
              the webhooks portal again.
            </p>
          </div>`,
        },
        'portal',
      );
      return;
    }

    let status = 500;
    let message = 'Something went wrong on our side. Try again in a moment.';
    if (exception instanceof DomainError) {
      status = exception.status;
      message = exception.message;
      if (exception.fields?.length)
        message += `: ${exception.fields.map((f) => `${f.field} ${f.reason}`).join('; ')}`;
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      message = exception.message;
    } else {
      this.logger.error(
        `${req.method} ${req.path} failed: ${(exception as Error)?.stack ?? String(exception)}`,
      );
    }
    if (status === 404)
      message = `${message}. It may never have existed, or it is older than the history kept.`;
    this.renderer.page(
      req,
      res,
      {
        status,
        title: TITLES[status] ?? 'Error',
        body: html`<div class="center card" data-testid="error-page" data-status="${status}">
          <h1>${status} · ${TITLES[status] ?? 'Error'}</h1>
          <p>${message}</p>
          <p><a href="${area === 'portal' ? '/portal' : '/dashboard'}">← Back to the start</a></p>
        </div>`,
      },
      area,
    );
  }
}
