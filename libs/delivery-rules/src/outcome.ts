/**
 * Why an attempt produced no usable HTTP response (or no complete one).
 * - `timeout`: the attempt's total deadline passed (before the response head, or while reading the body; in the
 *   latter case the sender also reports the status code it saw).
 * - `connect_timeout`: the TCP/TLS connection was not established within the connect timeout.
 * - `connection_refused`, `connection_reset`, `dns`, `tls`, `network`: transport failures.
 * - `response_too_slow`: reserved for a response whose head arrived but whose body did not finish in time (the
 *   current sender reports that as `timeout` with the status code); retried like a timeout.
 * - `destination_blocked`: the SSRF policy refused the destination address; nothing was sent.
 * - `invalid_url`: the request could not be made as given (URL not http(s) or unparseable, or a header value
 *   the HTTP client rejects); nothing was sent.
 */
export type DeliveryErrorClass =
  | 'timeout'
  | 'connect_timeout'
  | 'connection_refused'
  | 'connection_reset'
  | 'dns'
  | 'tls'
  | 'destination_blocked'
  | 'network'
  | 'response_too_slow'
  | 'invalid_url';

export const DELIVERY_ERROR_CLASSES: readonly DeliveryErrorClass[] = [
  'timeout',
  'connect_timeout',
  'connection_refused',
  'connection_reset',
  'dns',
  'tls',
  'destination_blocked',
  'network',
  'response_too_slow',
  'invalid_url',
];

export type AttemptOutcome = 'succeeded' | 'retry' | 'failed';

export interface AttemptInput {
  statusCode?: number;
  errorClass?: DeliveryErrorClass;
  /** The raw `Retry-After` response header, if any. */
  retryAfter?: string | null;
  now: Date;
}

export interface AttemptVerdict {
  outcome: AttemptOutcome;
  reason: string;
  /** True only when the receiver said the endpoint is gone for good (410). */
  disableEndpoint: boolean;
  /** How long the receiver asked us to wait (from `Retry-After` on 429/503), in ms, at least 0. */
  retryAfterMs?: number;
}

/** Statuses that mean "try again later". */
const RETRYABLE_4XX = new Set([408, 429]);
/** Statuses whose `Retry-After` is honoured. */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/**
 * Classifies one attempt. A transport error wins over a status code (a response whose body did not arrive in
 * time is a timeout, whatever its status). Rules: 2xx succeeded; 5xx, 408, 429 and transport errors retry;
 * 3xx failed (redirects are not followed); 410 failed and disables the endpoint; other 4xx failed; a blocked
 * destination or an unusable URL failed.
 */
export function classifyAttempt(input: AttemptInput): AttemptVerdict {
  const { statusCode, errorClass } = input;
  if (errorClass) return classifyError(errorClass, statusCode);
  if (statusCode === undefined || statusCode === null) {
    return { outcome: 'retry', reason: 'no response and no error recorded', disableEndpoint: false };
  }
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    return { outcome: 'failed', reason: `unexpected HTTP status ${statusCode}`, disableEndpoint: false };
  }
  if (statusCode >= 200 && statusCode < 300) {
    return { outcome: 'succeeded', reason: `HTTP ${statusCode}`, disableEndpoint: false };
  }
  if (statusCode >= 500 || RETRYABLE_4XX.has(statusCode)) {
    const verdict: AttemptVerdict = {
      outcome: 'retry',
      reason: `HTTP ${statusCode}`,
      disableEndpoint: false,
    };
    if (RETRY_AFTER_STATUSES.has(statusCode)) {
      const retryAfterMs = parseRetryAfter(input.retryAfter, input.now);
      if (retryAfterMs !== undefined) {
        verdict.retryAfterMs = retryAfterMs;
        verdict.reason += ` (Retry-After ${retryAfterMs} ms)`;
      }
    }
    return verdict;
  }
  if (statusCode >= 300 && statusCode < 400) {
    return {
      outcome: 'failed',
      reason: `HTTP ${statusCode}: redirects are not followed; point the endpoint at the final URL`,
      disableEndpoint: false,
    };
  }
  if (statusCode === 410) {
    return { outcome: 'failed', reason: 'HTTP 410 Gone: the endpoint is disabled', disableEndpoint: true };
  }
  // Other 4xx (and 1xx, which never reach us as a final status).
  return { outcome: 'failed', reason: `HTTP ${statusCode}`, disableEndpoint: false };
}

function classifyError(errorClass: DeliveryErrorClass, statusCode: number | undefined): AttemptVerdict {
  const seen = statusCode !== undefined ? ` (after HTTP ${statusCode})` : '';
  switch (errorClass) {
    case 'destination_blocked':
      return {
        outcome: 'failed',
        reason: 'destination address is not allowed (private, loopback, link-local or reserved)',
        disableEndpoint: false,
      };
    case 'invalid_url':
      return { outcome: 'failed', reason: 'the endpoint URL cannot be used', disableEndpoint: false };
    default:
      return { outcome: 'retry', reason: `${errorClass}${seen}`, disableEndpoint: false };
  }
}

/** IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the obsolete RFC 850 form (`Sunday, 06-Nov-94 08:49:37 GMT`). */
const GMT_DATE_RE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*, .+ GMT$/i;
/** The obsolete asctime form (`Sun Nov  6 08:49:37 1994`), which has no zone but means GMT. */
const ASCTIME_RE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/i;

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds (`120`) or an HTTP-date (IMF-fixdate, RFC 850 or
 * asctime). A date in the past gives 0. Anything else gives undefined.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : Number.MAX_SAFE_INTEGER;
  }
  let at: number;
  if (GMT_DATE_RE.test(text)) at = Date.parse(text);
  else if (ASCTIME_RE.test(text)) at = Date.parse(`${text} GMT`);
  else return undefined;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
