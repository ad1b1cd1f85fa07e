import { randomBytes } from 'node:crypto';

/** Standard Webhooks signing secrets: "whsec_" + base64 of the raw key bytes. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_SECRET_MIN_BYTES = 24;
export const WEBHOOK_SECRET_MAX_BYTES = 64;

export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** Why a customer-provided secret is not acceptable, or null when it is. Never echoes the secret. */
export function webhookSecretProblem(secret: string): string | null {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return `must start with "${WEBHOOK_SECRET_PREFIX}"`;
  const b64 = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  const shape = `must be "${WEBHOOK_SECRET_PREFIX}" followed by standard base64 of ${WEBHOOK_SECRET_MIN_BYTES}-${WEBHOOK_SECRET_MAX_BYTES} bytes`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return shape;
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.toString('base64') !== b64) return shape;
  if (bytes.length < WEBHOOK_SECRET_MIN_BYTES || bytes.length > WEBHOOK_SECRET_MAX_BYTES) return shape;
  return null;
}
