import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** Largest HTML form body accepted. */
export const FORM_BODY_MAX_BYTES = 64 * 1024;

/**
 * Parses application/x-www-form-urlencoded bodies (HTML forms) into `req.body` as a flat string record, for the
 * dashboard and portal routes only (the JSON API keeps accepting JSON alone). Repeated names keep the last value.
 */
@Injectable()
export class FormBodyMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (req.method !== 'POST' || type !== 'application/x-www-form-urlencoded' || req.readableEnded) {
      next();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > FORM_BODY_MAX_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('error', (err) => next(err));
    req.on('end', () => {
      if (tooLarge) {
        res.status(413).type('text/plain').send('Form too large');
        return;
      }
      const body: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) {
        if (k !== '__proto__' && k !== 'constructor' && k !== 'prototype') body[k] = v;
      }
      (req as Request & { body: unknown }).body = body;
      next();
    });
  }
}
