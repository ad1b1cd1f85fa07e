import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API key tokens: "tern_<key id>.<43 chars base64url secret>". The id finds the row; only sha256(secret) is
 * stored and it is compared in constant time.
 */
export const API_KEY_TOKEN_PREFIX = 'tern_';
const TOKEN_RE = /^tern_(key_[0-9a-f]{28})\.([A-Za-z0-9_-]{43})$/;

export function makeApiKeySecret(): string {
  return randomBytes(32).toString('base64url');
}

export function formatApiKeyToken(keyId: string, secret: string): string {
  return `${API_KEY_TOKEN_PREFIX}${keyId}.${secret}`;
}

export function parseApiKeyToken(token: string): { keyId: string; secret: string } | null {
  const m = TOKEN_RE.exec(token);
  return m ? { keyId: m[1], secret: m[2] } : null;
}

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
