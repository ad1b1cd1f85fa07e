import { randomBytes } from 'node:crypto';
import { macMatches, macOf } from './web-keys';

/** What a portal link grants: the portal of one application, until `expiresAt`. */
export interface PortalLinkClaims {
  applicationId: string;
  expiresAt: Date;
  nonce: string;
}

export type PortalLinkCheck =
  { ok: true; claims: PortalLinkClaims } | { ok: false; reason: 'invalid' | 'expired' };

const VERSION = 'pl1';
const TOKEN_RE = /^pl1\.(app_[0-9a-f]{28})\.(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

function signed(applicationId: string, exp: number, nonce: string): string {
  return `${VERSION}|${applicationId}|${exp}|${nonce}`;
}

/**
 * `pl1.<application id>.<expiry, unix seconds>.<nonce>.<HMAC-SHA256 over the three>`: URL-safe, tamper-evident,
 * no state on the server. `key` comes from deriveWebKey(config, 'portal-link').
 */
export function makePortalLinkToken(
  key: Buffer,
  applicationId: string,
  expiresAt: Date,
  nonce = randomBytes(16).toString('base64url'),
): string {
  const exp = Math.floor(expiresAt.getTime() / 1000);
  return `${VERSION}.${applicationId}.${exp}.${nonce}.${macOf(key, signed(applicationId, exp, nonce))}`;
}

/** Checks the MAC first (so a forged token never learns whether it would have expired), then the expiry. */
export function checkPortalLinkToken(key: Buffer, token: string, now = new Date()): PortalLinkCheck {
  const m = TOKEN_RE.exec(token);
  if (!m) return { ok: false, reason: 'invalid' };
  const [, applicationId, expText, nonce, mac] = m;
  const exp = Number(expText);
  if (!macMatches(key, signed(applicationId, exp, nonce), mac)) return { ok: false, reason: 'invalid' };
  if (exp * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, claims: { applicationId, expiresAt: new Date(exp * 1000), nonce } };
}
