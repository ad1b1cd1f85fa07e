import { Node, parseTree, ParseError } from 'jsonc-parser';
import { FieldProblem } from '../common/errors';

/**
 * Payloads are kept as the producer's text, byte for byte: located in the raw request body with jsonc-parser
 * (strict: no comments, no trailing commas), checked on its syntax tree, never re-serialised. What is stored is
 * what is signed and delivered.
 */
const STRICT = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false } as const;

export interface PayloadLimits {
  /** MAX_PAYLOAD_BYTES: measured on the payload's UTF-8 text as sent. */
  maxBytes: number;
  /** MAX_PAYLOAD_DEPTH: nesting of objects and arrays, the payload object itself being level 1. */
  maxDepth: number;
}

export type PayloadCheck =
  { ok: true; text: string } | { ok: false; tooLarge: boolean; problem: FieldProblem };

/** The raw body as text: UTF-8 only (else a byte-exact payload could not be kept), a leading BOM dropped. */
export function decodeBody(raw: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return null;
  }
}

/**
 * A payload located in a request body: its text, and its syntax tree from the body's one parse (offsets relative
 * to the body), so checkPayloadText need not parse it again.
 */
export interface LocatedPayload {
  text: string;
  tree: Node;
}

/**
 * Each event's `payload` in a request body: `[payload]` for POST /v1/events, one per item of `events` for a
 * batch. `undefined` where an event has no payload member. The body is parsed once. Throws PayloadSyntaxError when
 * the body is not strict JSON or nests too deeply for the parser.
 */
export function payloadTexts(body: string, mode: 'single' | 'batch'): (LocatedPayload | undefined)[] {
  const root = strictTree(body);
  if (root?.type !== 'object') return [];
  if (mode === 'single') return [payloadOf(body, root)];
  const events = lastMember(root, 'events');
  if (events?.type !== 'array') return [];
  return (events.children ?? []).map((item) => (item.type === 'object' ? payloadOf(body, item) : undefined));
}

/**
 * The text of member `name` of the JSON object `body` as it stands there (the last one if repeated, as JSON.parse
 * keeps), or undefined when the body is not an object or has no such member. Throws PayloadSyntaxError as
 * payloadTexts does.
 */
export function memberText(body: string, name: string): string | undefined {
  const root = strictTree(body);
  if (root?.type !== 'object') return undefined;
  const node = lastMember(root, name);
  return node && body.slice(node.offset, node.offset + node.length);
}

/**
 * Checks a payload's text without changing it: a JSON object, at most `maxBytes` bytes, at most `maxDepth` levels,
 * no key repeated within an object, no NUL characters or unpaired UTF-16 surrogates in keys or strings. `tree`:
 * the text's syntax tree when the caller already has it (payloadTexts), else the text is parsed here.
 */
export function checkPayloadText(
  text: string,
  limits: PayloadLimits,
  field: string,
  tree?: Node,
): PayloadCheck {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) {
    return {
      ok: false,
      tooLarge: true,
      problem: { field, reason: `is ${bytes} bytes as sent; the limit is ${limits.maxBytes}` },
    };
  }
  let root: Node | undefined = tree;
  try {
    root ??= strictTree(text);
  } catch (err) {
    if (err instanceof PayloadSyntaxError) return fail(field, err.message);
    throw err;
  }
  if (root?.type !== 'object') return fail(field, 'must be a JSON object');
  const reason = inspect(root, limits.maxDepth);
  return reason ? fail(field, reason) : { ok: true, text };
}

export class PayloadSyntaxError extends Error {}

function strictTree(text: string): Node | undefined {
  const errors: ParseError[] = [];
  let root: Node | undefined;
  try {
    root = parseTree(text, errors, STRICT);
  } catch (err) {
    // jsonc-parser recurses once per level: a body nested thousands of levels deep overflows the stack.
    if (err instanceof RangeError) throw new PayloadSyntaxError('nests too deeply');
    throw err;
  }
  if (errors.length > 0) throw new PayloadSyntaxError(`is not valid JSON (at offset ${errors[0].offset})`);
  return root;
}

/** The value of the last member named `name` (JSON.parse, which the DTO was validated on, keeps the last). */
function lastMember(obj: Node, name: string): Node | undefined {
  let found: Node | undefined;
  for (const prop of obj.children ?? []) {
    const [key, value] = prop.children ?? [];
    if (key?.value === name) found = value;
  }
  return found;
}

function payloadOf(body: string, event: Node): LocatedPayload | undefined {
  const node = lastMember(event, 'payload');
  return node && { text: body.slice(node.offset, node.offset + node.length), tree: node };
}

function fail(field: string, reason: string): PayloadCheck {
  return { ok: false, tooLarge: false, problem: { field, reason } };
}

/** Iterative walk of the tree: the first problem found, or null. */
function inspect(root: Node, maxDepth: number): string | null {
  const stack: { node: Node; depth: number }[] = [{ node: root, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (node.type === 'string') {
      if (!isStorableText(node.value as string)) return BAD_TEXT;
      continue;
    }
    if (node.type !== 'object' && node.type !== 'array') continue;
    if (depth > maxDepth) return `must not nest deeper than ${maxDepth} levels`;
    if (node.type === 'array') {
      for (const item of node.children ?? []) stack.push({ node: item, depth: depth + 1 });
      continue;
    }
    const keys = new Set<string>();
    for (const prop of node.children ?? []) {
      const [key, value] = prop.children ?? [];
      const name = key.value as string;
      if (!isStorableText(name)) return BAD_TEXT;
      if (keys.has(name)) return `repeats the key ${JSON.stringify(name)} in one object`;
      keys.add(name);
      if (value) stack.push({ node: value, depth: depth + 1 });
    }
  }
  return null;
}

const BAD_TEXT = 'must not contain NUL characters or unpaired UTF-16 surrogates';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s);
}
