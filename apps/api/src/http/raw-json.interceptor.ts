import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { stringifyWithRawJson } from '@tern/core';
import type { Response } from 'express';
import { map, Observable } from 'rxjs';

/**
 * For answers that embed RawJson (event payloads as sent): serialises the answer itself, so the payload's bytes
 * reach the client unchanged (Express' res.json would re-serialise them), and sends it as application/json.
 */
@Injectable()
export class RawJsonInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const res = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      map((value: unknown) => {
        res.type('application/json');
        return stringifyWithRawJson(value);
      }),
    );
  }
}
