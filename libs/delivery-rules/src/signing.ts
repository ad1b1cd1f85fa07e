import { createHmac, randomBytes } from 'node:crypto';

/** Standard Webhooks signing (spec: standard-webhooks/standard-webhooks, `v1` symmetric signatures). */
export const SECRET_PREFIX = 'whsec_';
export const SECRET_MIN_BYTES = 24;
export const SECRET_MAX_BYTES = 64;

/** Year 5138: a larger "seconds" value is almost certainly milliseconds passed by mistake. */
const MAX_TIMESTAMP_SECONDS = 1e11;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/** A new secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** The problem with a secret, or null if it is usable. */
export function validateSecret(secret: unknown): string | null {
  if (typeof secret !== 'string') return 'secret must be a string';
  if (!secret.startsWith(SECRET_PREFIX)) return `secret must start with "${SECRET_PREFIX}"`;
  const encoded = secret.slice(SECRET_PREFIX.length);
  const badLength = encoded.endsWith('=') ? encoded.length % 4 !== 0 : encoded.length % 4 === 1;
  if (!BASE64_RE.test(encoded) || badLength) {
    return `secret must be "${SECRET_PREFIX}" followed by standard base64`;
  }
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < SECRET_MIN_BYTES || bytes > SECRET_MAX_BYTES) {
    return `secret key must be ${SECRET_MIN_BYTES} to ${SECRET_MAX_BYTES} bytes after base64 decoding (got ${bytes})`;
  }
  return null;
}

/** The HMAC key of a `whsec_…` secret. Throws an Error saying what is wrong with an invalid secret. */
export function parseSecret(secret: string): Buffer {
  const problem = validateSecret(secret);
  if (problem) throw new Error(`invalid webhook secret: ${problem}`);
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

/** One signature entry: `v1,` + base64 HMAC-SHA256(key, `${msgId}.${timestampSeconds}.${body}`). */
export function sign(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  if (
    !Number.isSafeInteger(timestampSeconds) ||
    timestampSeconds < 0 ||
    timestampSeconds > MAX_TIMESTAMP_SECONDS
  ) {
    throw new Error(`webhook timestamp must be an integer number of unix seconds (got ${timestampSeconds})`);
  }
  const mac = createHmac('sha256', parseSecret(secret))
    .update(`${msgId}.${timestampSeconds}.${body}`, 'utf8')
    .digest('base64');
  return `v1,${mac}`;
}

/** The `webhook-signature` header value: one space-separated entry per secret (several during rotation). */
export function signatureHeader(
  secrets: string[],
  msgId: string,
  timestampSeconds: number,
  body: string,
): string {
  if (secrets.length === 0) throw new Error('at least one webhook secret is needed to sign');
  return secrets.map((s) => sign(s, msgId, timestampSeconds, body)).join(' ');
}
