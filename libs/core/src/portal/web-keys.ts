import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** What the web keys are derived from: both required settings, so no extra secret has to be configured. */
export interface WebKeySource {
  SECRETS_ENCRYPTION_KEY: string;
  ADMIN_API_KEY: string;
}

/** Purposes of the derived keys: each signs one kind of value only. */
export type WebKeyPurpose = 'portal-link' | 'web-session' | 'csrf' | 'flash';

/**
 * A 32-byte HMAC key for one purpose, derived (HKDF-SHA256) from SECRETS_ENCRYPTION_KEY and ADMIN_API_KEY.
 * Changing either setting invalidates every portal link, session and CSRF token signed before.
 */
export function deriveWebKey(source: WebKeySource, purpose: WebKeyPurpose): Buffer {
  const ikm = Buffer.concat([
    Buffer.from(source.SECRETS_ENCRYPTION_KEY, 'base64'),
    Buffer.from(source.ADMIN_API_KEY, 'utf8'),
  ]);
  return Buffer.from(hkdfSync('sha256', ikm, 'tern-web', `tern/${purpose}/v1`, 32));
}

/** base64url HMAC-SHA256 of `data`. */
export function macOf(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data, 'utf8').digest('base64url');
}

/** Constant-time check of a MAC made by macOf(). */
export function macMatches(key: Buffer, data: string, mac: string): boolean {
  const expected = Buffer.from(macOf(key, data), 'utf8');
  const given = Buffer.from(mac, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `<base64url JSON>.<mac>`: a value only this server can have made. */
export function sealJson(key: Buffer, value: unknown): string {
  const body = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  return `${body}.${macOf(key, body)}`;
}

/** The value sealed by sealJson(), or null when the token is malformed or its MAC is wrong. */
export function openJson(key: Buffer, token: string | undefined): unknown {
  if (!token || token.length > 4096) return null;
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m || !macMatches(key, m[1], m[2])) return null;
  try {
    return JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
