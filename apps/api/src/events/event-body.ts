import type { RawBodyRequest } from '@nestjs/common';
import {
  decodeBody,
  InvalidInputError,
  LocatedPayload,
  NewEventInput,
  payloadTexts,
  PayloadSyntaxError,
} from '@tern/core';
import type { Request } from 'express';

/** An event as EventInputPipe validated it: `payload` is still the parsed value, only checked to be an object. */
export type ParsedEventInput = Omit<NewEventInput, 'payload'> & { payload: unknown };

/**
 * Swaps each parsed payload for its text as it stands in the raw request body (req.rawBody, kept by the JSON body
 * parser: NestFactory's `rawBody` option), so the event is stored, signed and delivered byte for byte as sent.
 * The parsed body only served to validate the other fields.
 */
export function withPayloadTexts(
  req: RawBodyRequest<Request>,
  inputs: ParsedEventInput[],
  mode: 'single' | 'batch',
): NewEventInput[] {
  const field = (i: number) => (mode === 'single' ? 'payload' : `events[${i}].payload`);
  const body = req.rawBody ? decodeBody(req.rawBody) : '';
  if (body === null) throw new InvalidInputError([{ field: 'body', reason: 'must be UTF-8 encoded JSON' }]);
  let texts: (LocatedPayload | undefined)[];
  try {
    texts = body ? payloadTexts(body, mode) : [];
  } catch (err) {
    if (err instanceof PayloadSyntaxError) {
      throw new InvalidInputError([{ field: mode === 'single' ? 'payload' : 'events', reason: err.message }]);
    }
    throw err;
  }
  return inputs.map((input, i) => {
    const located = texts[i];
    if (located === undefined)
      throw new InvalidInputError([{ field: field(i), reason: 'must be a JSON object' }]);
    return { ...input, payload: located.text, payloadTree: located.tree };
  });
}
