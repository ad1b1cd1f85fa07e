import * as dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  AddressPolicy,
  DeliveryErrorClass,
  ipLiteralOf,
  PortPolicy,
  portProblem,
} from '@tern/delivery-rules';
import { Agent, request } from 'undici';

export interface WebhookSenderOptions {
  /** TCP (+TLS) connect timeout, per connection. */
  connectTimeoutMs: number;
  /** Total deadline of one attempt: connect, send, response head and the (capped) body. */
  attemptTimeoutMs: number;
  /** At most this many bytes of the response body are read and kept; the rest is discarded unread. */
  maxResponseBodyBytes: number;
  /** SSRF policy applied to IP-literal hosts before sending and to every resolved address at connect time. */
  policy: AddressPolicy;
  /** Ports requests may go to (DELIVERY_ALLOWED_PORTS), checked before anything is sent; default: any. */
  ports?: PortPolicy;
  /** Sent as `user-agent` unless the request headers have one. */
  userAgent: string;
  /** Keep-alive connections per origin (default: undici's, unlimited). */
  connectionsPerOrigin?: number;
  /** Resolver (default `dns.lookup`); its answers are checked against the policy. */
  lookup?: typeof dns.lookup;
}

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface SendResult {
  statusCode?: number;
  /** Lower-case names; repeated headers joined with ", ". */
  responseHeaders?: Record<string, string>;
  /** The first `maxResponseBodyBytes` bytes of the body, decoded as UTF-8. */
  responseBody?: string;
  /** True if the body was longer than `maxResponseBodyBytes` and was cut. */
  responseBodyTruncated?: boolean;
  durationMs: number;
  errorClass?: DeliveryErrorClass;
  errorMessage?: string;
}

/** Raised from the guarded lookup (and for IP literals) when the policy blocks a destination. */
export class DestinationBlockedError extends Error {
  readonly code = 'ERR_TERN_DESTINATION_BLOCKED';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly addressClass: string,
  ) {
    // The message is stored with the attempt, which the tenant reads: it names the class of address, never the
    // address a name resolved to (that would let a tenant map internal names). `address` stays for operators' logs.
    super(`destination ${host} is not allowed (${addressClass} address)`);
    this.name = 'DestinationBlockedError';
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
type AnyLookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

/**
 * Wraps a `dns.lookup`-shaped resolver so that a name is refused if ANY of its addresses is blocked by the policy
 * (a name that mixes public and private answers is a rebinding attempt, or a misconfiguration). Supports both
 * call forms: `{ all: true }` (what Node 20's net.connect uses, with autoSelectFamily) and the single-address one.
 * Because the socket connects to exactly the addresses checked here, there is no check-then-resolve-again gap.
 */
export function guardedLookup(
  policy: AddressPolicy,
  base: typeof dns.lookup = dns.lookup,
): typeof dns.lookup {
  const resolve = base as unknown as AnyLookup;
  function lookup(hostname: string, optionsOrCallback: unknown, maybeCallback?: unknown): void {
    const callback = (
      typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback
    ) as LookupCallback;
    const options: LookupOptions =
      typeof optionsOrCallback === 'number'
        ? { family: optionsOrCallback }
        : typeof optionsOrCallback === 'object' && optionsOrCallback !== null
          ? optionsOrCallback
          : {};
    resolve(hostname, { ...options, all: true }, (err, result) => {
      if (err) return callback(err, options.all ? [] : '');
      const list = Array.isArray(result) ? result : [{ address: result, family: isIP(result) }];
      if (list.length === 0) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = 'ENOTFOUND';
        return callback(notFound, options.all ? [] : '');
      }
      for (const { address } of list) {
        const verdict = policy.check(address);
        if (!verdict.allowed) {
          return callback(
            new DestinationBlockedError(hostname, address, verdict.reason),
            options.all ? [] : '',
          );
        }
      }
      if (options.all) return callback(null, list);
      return callback(null, list[0].address, list[0].family);
    });
  }
  return lookup as unknown as typeof dns.lookup;
}

/** Error codes → error classes. Checked on the error, its `cause` chain and AggregateError members. */
const CODE_CLASSES: Record<string, DeliveryErrorClass> = {
  ERR_TERN_DESTINATION_BLOCKED: 'destination_blocked',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NODATA: 'dns',
  EAI_NONAME: 'dns',
  UND_ERR_CONNECT_TIMEOUT: 'connect_timeout',
  ETIMEDOUT: 'connect_timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_ABORTED: 'timeout',
  ABORT_ERR: 'timeout',
  ERR_INVALID_URL: 'invalid_url',
  UND_ERR_INVALID_ARG: 'invalid_url',
  EPROTO: 'tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  HOSTNAME_MISMATCH: 'tls',
};

/** OpenSSL / Node TLS error codes (certificate problems, handshake failures, protocol mismatches). */
const TLS_CODE_RE = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|SSL_)/;

/** Maps anything thrown while sending to an error class. Unknown errors are `network`. */
export function errorClassOf(err: unknown): DeliveryErrorClass {
  const seen = new Set<unknown>();
  let found: DeliveryErrorClass | undefined;
  const visit = (e: unknown): void => {
    if (found || e === null || typeof e !== 'object' || seen.has(e)) return;
    seen.add(e);
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (name === 'TimeoutError' || name === 'AbortError') {
      found = 'timeout';
      return;
    }
    if (typeof code === 'string') {
      found = CODE_CLASSES[code] ?? (TLS_CODE_RE.test(code) ? 'tls' : undefined);
      if (found) return;
    }
    if (e instanceof DestinationBlockedError) {
      found = 'destination_blocked';
      return;
    }
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) errors.forEach(visit);
    visit((e as { cause?: unknown }).cause);
  };
  visit(err);
  return found ?? 'network';
}

function messageOf(err: unknown): string {
  if (err instanceof DestinationBlockedError) return err.message;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const msg = err.message || err.name;
    if (err instanceof AggregateError && err.errors.length > 0) {
      return `${msg ? msg + ': ' : ''}${err.errors.map(messageOf).join('; ')}`;
    }
    return hideAddresses(code && !msg.includes(code) ? `${code}: ${msg}` : msg);
  }
  return hideAddresses(String(err));
}

/**
 * Replaces IP addresses (with or without a port) in a socket error's text by "<address>": "connect ECONNREFUSED
 * 10.1.2.3:443" tells a tenant where a name points, which the public internet would not say in an error.
 */
export function hideAddresses(message: string): string {
  return message
    .split(/(\s+)/)
    .map((token) => {
      // Punctuation around an address ("(10.0.0.1)", "10.0.0.1:80,") stays; the address goes.
      const m = /^(\(?)(.*?)([,;)]*)$/.exec(token);
      return m && isAddress(m[2]) ? `${m[1]}<address>${m[3]}` : token;
    })
    .join('');
}

/** An IP address as it appears in a socket error: bare, bracketed, or followed by ":port". */
function isAddress(text: string): boolean {
  const bracketed = /^\[(.*)\](?::\d+)?$/.exec(text);
  if (bracketed) return isIP(bracketed[1]) !== 0;
  if (isIP(text) !== 0) return true;
  const withPort = /^(.*):\d+$/.exec(text);
  return withPort !== null && isIP(withPort[1]) !== 0;
}

/**
 * Sends webhook POSTs with undici: keep-alive pools per origin; an SSRF-checked connect (IP literals checked
 * before sending, names checked on every resolved address); no redirects; one total deadline per attempt; at most
 * `maxResponseBodyBytes` of the response read. `send` never throws: failures come back as an `errorClass`.
 */
export class WebhookSender {
  private readonly agent: Agent;

  constructor(private readonly opts: WebhookSenderOptions) {
    if (!(opts.attemptTimeoutMs > 0)) throw new RangeError('attemptTimeoutMs must be > 0');
    if (!(opts.connectTimeoutMs > 0)) throw new RangeError('connectTimeoutMs must be > 0');
    if (!(opts.maxResponseBodyBytes >= 0)) throw new RangeError('maxResponseBodyBytes must be ≥ 0');
    this.agent = new Agent({
      connect: {
        timeout: opts.connectTimeoutMs,
        lookup: guardedLookup(opts.policy, opts.lookup ?? dns.lookup),
      },
      connections: opts.connectionsPerOrigin ?? null,
      // The AbortSignal is the real deadline; these only make sure undici's own 300 s defaults never matter.
      headersTimeout: opts.attemptTimeoutMs,
      bodyTimeout: opts.attemptTimeoutMs,
    });
  }

  async send(req: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const blocked = this.checkLiteral(req.url);
    if (blocked) return { ...blocked, durationMs: elapsed() };

    const result: Omit<SendResult, 'durationMs'> = {};
    try {
      const headers = { ...req.headers };
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'user-agent')) {
        headers['user-agent'] = this.opts.userAgent;
      }
      const response = await request(req.url, {
        dispatcher: this.agent,
        method: 'POST',
        headers,
        body: req.body,
        signal: AbortSignal.timeout(this.opts.attemptTimeoutMs),
      });
      result.statusCode = response.statusCode;
      result.responseHeaders = flattenHeaders(response.headers);
      const { text, truncated } = await readCapped(response.body, this.opts.maxResponseBodyBytes);
      result.responseBody = text;
      if (truncated) result.responseBodyTruncated = true;
    } catch (err) {
      result.errorClass = errorClassOf(err);
      result.errorMessage =
        result.errorClass === 'timeout'
          ? `no complete response within ${this.opts.attemptTimeoutMs} ms` +
            (result.statusCode !== undefined ? ` (HTTP ${result.statusCode} received, body too slow)` : '')
          : messageOf(err);
    }
    return { ...result, durationMs: elapsed() };
  }

  /** Closes the pools once the requests in flight are done. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Rejects unusable URLs and blocked IP-literal hosts (which never reach the lookup hook). */
  private checkLiteral(url: string): Pick<SendResult, 'errorClass' | 'errorMessage'> | null {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { errorClass: 'invalid_url', errorMessage: 'the URL cannot be parsed' };
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      return { errorClass: 'invalid_url', errorMessage: `unsupported scheme ${parsed.protocol}` };
    }
    const badPort = this.opts.ports ? portProblem(parsed, this.opts.ports) : null;
    if (badPort) return { errorClass: 'destination_blocked', errorMessage: `destination ${badPort}` };
    const literal = ipLiteralOf(parsed.hostname);
    if (literal === null) return null;
    const verdict = this.opts.policy.check(literal);
    if (verdict.allowed) return null;
    return {
      errorClass: 'destination_blocked',
      errorMessage: new DestinationBlockedError(literal, literal, verdict.reason).message,
    };
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const text = Array.isArray(value) ? value.join(', ') : value;
    out[key] = key in out ? `${out[key]}, ${text}` : text;
  }
  return out;
}

/**
 * Reads at most `max` bytes, then destroys the body (undici closes that connection) instead of downloading the
 * rest. A body that ends within the cap leaves the connection reusable.
 */
async function readCapped(
  body: AsyncIterable<Buffer>,
  max: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  // Leaving the loop early destroys the stream (for await calls its return()), which aborts the rest.
  for await (const chunk of body) {
    const room = max - size;
    if (chunk.length > room) {
      if (room > 0) chunks.push(chunk.subarray(0, room));
      size += room;
      truncated = true;
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { text: Buffer.concat(chunks, size).toString('utf8'), truncated };
}
