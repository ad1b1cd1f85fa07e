import { FieldProblem } from '../common/errors';

// Event types (EVENT_TYPE_PATTERN, shared with endpoint subscriptions) live in ../endpoints/endpoint-rules.

/** Idempotency keys: 1–255 printable ASCII characters (what an HTTP header can carry as is). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;

/**
 * Deepest nesting of objects and arrays accepted in a payload. Far above what webhooks carry, far below what
 * Postgres' jsonb parser and V8's JSON.stringify survive (both overflow their stacks a few thousand levels down).
 */
export const MAX_PAYLOAD_DEPTH = 100;

/** One event as a producer submits it. */
export interface NewEventInput {
  eventType: string;
  payload: Record<string, unknown>;
  idempotencyKey?: string;
}

export type PayloadCheck =
  { ok: true; json: string } | { ok: false; tooLarge: boolean; problem: FieldProblem };

/**
 * Checks a payload and serialises it once: a JSON object, at most `maxBytes` bytes as compact JSON, at most
 * MAX_PAYLOAD_DEPTH levels deep, and storable as jsonb (no NUL characters, no lone UTF-16 surrogates).
 */
export function checkPayload(payload: unknown, maxBytes: number, field: string): PayloadCheck {
  if (!isPlainObject(payload)) return fail(field, 'must be a JSON object');
  let json: string;
  try {
    json = JSON.stringify(payload);
  } catch {
    return fail(field, `must not nest deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    return {
      ok: false,
      tooLarge: true,
      problem: { field, reason: `is ${bytes} bytes as JSON; the limit is ${maxBytes}` },
    };
  }
  // Each level adds at least two characters ("[" and "]"), so a short document cannot be too deep.
  const mayBeTooDeep = json.length > 2 * MAX_PAYLOAD_DEPTH;
  // JSON.stringify writes NUL and lone surrogates as \u escapes: without one, every string is fine.
  const mayHaveBadText = json.includes('\\u');
  if (mayBeTooDeep || mayHaveBadText) {
    const reason = inspect(payload);
    if (reason) return fail(field, reason);
  }
  return { ok: true, json };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(field: string, reason: string): PayloadCheck {
  return { ok: false, tooLarge: false, problem: { field, reason } };
}

/** Iterative walk (no recursion, so no stack to overflow): the first problem found, or null. */
function inspect(root: Record<string, unknown>): string | null {
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 1 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (!isStorableText(value)) return 'must not contain NUL characters or unpaired UTF-16 surrogates';
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_PAYLOAD_DEPTH) return `must not nest deeper than ${MAX_PAYLOAD_DEPTH} levels`;
    if (Array.isArray(value)) {
      for (const item of value) stack.push({ value: item, depth: depth + 1 });
    } else {
      for (const [key, item] of Object.entries(value)) {
        if (!isStorableText(key)) return 'must not contain NUL characters or unpaired UTF-16 surrogates';
        stack.push({ value: item, depth: depth + 1 });
      }
    }
  }
  return null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s);
}
