import type { RawBodyRequest } from '@nestjs/common';
import { decodeBody, InvalidInputError, memberText, PayloadSyntaxError } from '@tern/core';
import type { Request } from 'express';

/**
 * The text of the top-level member `name` of the raw JSON request body (req.rawBody), as sent: undefined when
 * absent, null when it is JSON `null`. Filters are stored and checked on this text, never on the body Nest parsed
 * and transformed (which drops keys such as "__proto__"), so a filter is kept exactly or refused.
 */
export function rawMemberText(req: RawBodyRequest<Request>, name: string): string | null | undefined {
  if (!req.rawBody || !req.is('json')) {
    // Another body type (a form, say): its text is not JSON, so the member can only be refused, never guessed at.
    const parsed = req.body as Record<string, unknown> | undefined;
    if (parsed === undefined || parsed === null || !Object.hasOwn(parsed, name)) return undefined;
    throw new InvalidInputError([{ field: name, reason: 'must be sent in a JSON body (application/json)' }]);
  }
  const body = decodeBody(req.rawBody);
  if (body === null) throw new InvalidInputError([{ field: 'body', reason: 'must be UTF-8 encoded JSON' }]);
  let text: string | undefined;
  try {
    text = memberText(body, name);
  } catch (err) {
    if (err instanceof PayloadSyntaxError)
      throw new InvalidInputError([{ field: name, reason: err.message }]);
    throw err;
  }
  if (text === undefined) return undefined;
  return text === 'null' ? null : text;
}
