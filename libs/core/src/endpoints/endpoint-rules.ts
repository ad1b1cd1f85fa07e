import { FieldProblem } from '../common/errors';

/** Validation rules of endpoint settings that go beyond types (the API's DTOs check types and sizes). */
export const ENDPOINT_URL_MAX_LENGTH = 2048;
export const ENDPOINT_DESCRIPTION_MAX_LENGTH = 500;
export const ENDPOINT_EVENT_TYPES_MAX = 100;
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const RATE_LIMIT_PER_SECOND_MAX = 10_000;
/** Largest per-endpoint `maxInFlight`: the range AppConfig allows for ENDPOINT_MAX_IN_FLIGHT. */
export const MAX_IN_FLIGHT_MAX = 1000;

/**
 * Headers Tern sets itself: an endpoint cannot override them (compared lower-case; plus every "webhook-*").
 * Connection-level headers are refused separately (CONNECTION_HEADER_NAMES).
 */
export const RESERVED_HEADER_NAMES: readonly string[] = [
  'content-type',
  'content-length',
  'user-agent',
  'host',
];
export const RESERVED_HEADER_PREFIX = 'webhook-';

/**
 * Connection-level (hop-by-hop) headers: undici refuses a request that sets them, so an endpoint carrying one
 * would fail every delivery. Refused at create/update time instead (compared lower-case).
 */
export const CONNECTION_HEADER_NAMES: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'http2-settings',
];

const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What an HTTP client will send as a field value: tab, visible ASCII, obs-text (Latin-1). No CR, LF or NUL. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function hasWhitespaceOrControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return /\s/.test(s);
}

export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_HEADER_NAMES.includes(lower) || lower.startsWith(RESERVED_HEADER_PREFIX);
}

/** Verdict on a URL's destination (the SSRF address policy); `allowed: false` carries the reason. */
export type DestinationCheck = (url: string) => { allowed: boolean; reason?: string };

/**
 * Checks an endpoint URL: absolute http(s), no credentials, no whitespace, ≤ 2,048 characters, and a destination
 * the address policy allows. Returns the normalised URL to store, or the problems.
 */
export function checkEndpointUrl(
  raw: string,
  checkDestination: DestinationCheck,
  field = 'url',
): { url: string } | { problems: FieldProblem[] } {
  const fail = (reason: string) => ({ problems: [{ field, reason }] });
  if (raw.length > ENDPOINT_URL_MAX_LENGTH) {
    return fail(`must be at most ${ENDPOINT_URL_MAX_LENGTH} characters`);
  }
  if (hasWhitespaceOrControl(raw)) return fail('must not contain whitespace or control characters');
  if (!/^https?:\/\//i.test(raw)) return fail('must be an absolute http:// or https:// URL');
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return fail('must be an absolute http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return fail('must be an absolute http:// or https:// URL');
  }
  if (!parsed.hostname) return fail('must name a host');
  // "user@", "user:pass@" and even an empty "@" before the host.
  if (parsed.username || parsed.password || /^https?:\/\/[^/?#]*@/i.test(raw)) {
    return fail('must not contain a username or password');
  }
  const url = parsed.href;
  if (url.length > ENDPOINT_URL_MAX_LENGTH) {
    return fail(`must be at most ${ENDPOINT_URL_MAX_LENGTH} characters`);
  }
  const verdict = checkDestination(url);
  if (!verdict.allowed) {
    return fail(
      `points to an address deliveries may not reach${verdict.reason ? ` (${verdict.reason})` : ''}`,
    );
  }
  return { url };
}

/**
 * Checks custom headers: count, names (HTTP tokens, not reserved, no case-insensitive duplicates), values (strings
 * without CR/LF or other control characters) and total size (names + values, UTF-8 bytes).
 */
export function checkEndpointHeaders(
  headers: Record<string, unknown>,
  limits: { maxCount: number; maxBytes: number },
  field = 'headers',
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const entries = Object.entries(headers);
  if (entries.length > limits.maxCount) {
    problems.push({ field, reason: `must have at most ${limits.maxCount} entries` });
  }
  const seen = new Set<string>();
  let bytes = 0;
  for (const [name, value] of entries) {
    const f = `${field}.${name}`;
    if (!HTTP_TOKEN.test(name)) {
      problems.push({
        field: f,
        reason: "header name must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~)",
      });
    } else if (name === '__proto__') {
      problems.push({ field: f, reason: 'header name is not allowed' });
    } else if (CONNECTION_HEADER_NAMES.includes(name.toLowerCase())) {
      problems.push({
        field: f,
        reason: `header "${name}" is a connection-level header; the HTTP client refuses to send it`,
      });
    } else if (isReservedHeader(name)) {
      problems.push({ field: f, reason: `header "${name}" is set by Tern and cannot be overridden` });
    } else if (seen.has(name.toLowerCase())) {
      problems.push({
        field: f,
        reason: `header "${name}" is given more than once (names are case-insensitive)`,
      });
    }
    seen.add(name.toLowerCase());
    if (typeof value !== 'string') {
      problems.push({ field: f, reason: 'header value must be a string' });
      continue;
    }
    if (!HEADER_VALUE.test(value)) {
      problems.push({
        field: f,
        reason: 'header value must be printable ASCII or Latin-1: no CR, LF or other control characters',
      });
    }
    bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  if (bytes > limits.maxBytes) {
    problems.push({ field, reason: `names and values must total at most ${limits.maxBytes} bytes` });
  }
  return problems;
}
