import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DomainError } from '../common/errors';

/**
 * What is sealed per endpoint at rest: signing secrets and custom headers (receiver credentials). AES-256-GCM under
 * a versioned master key. Stored blob = 12-byte IV || 16-byte auth tag || ciphertext; associated data =
 * "<endpoint id>:<key version>" for a secret, "headers:<endpoint id>:<key version>" for headers, so a blob only
 * opens for the endpoint, the key version and the purpose it was sealed for (a secret's blob copied into the headers
 * column does not open). Pure functions: no Nest, no database.
 */
export const SECRET_IV_BYTES = 12;
export const SECRET_TAG_BYTES = 16;
const KEY_BYTES = 32;

/** The master keys: the current one encrypts, every one (current and previous) decrypts. */
export interface SecretKeyRing {
  readonly currentVersion: number;
  readonly keys: ReadonlyMap<number, Buffer>;
}

/** What a blob holds: a signing secret or an endpoint's custom headers (JSON). */
export type SealedPurpose = 'secret' | 'headers';

export interface SealedSecret {
  keyVersion: number;
  ciphertext: Buffer;
}

/** Decryption failed: tampered row, row of another endpoint, or a key version that is not configured. */
export class SecretDecryptionError extends DomainError {
  constructor(
    readonly endpointId: string,
    readonly keyVersion: number,
    detail: string,
    purpose: SealedPurpose = 'secret',
  ) {
    super(
      500,
      `The ${purpose === 'secret' ? 'signing secret' : 'custom headers'} of endpoint ${endpointId} cannot be ` +
        `decrypted (key version ${keyVersion}): ${detail}`,
    );
  }
}

function decodeKey(base64: string, what: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== base64) {
    throw new Error(`${what} must be base64 of exactly ${KEY_BYTES} bytes`);
  }
  return key;
}

/**
 * Builds the key ring from SECRETS_ENCRYPTION_KEY, SECRETS_ENCRYPTION_KEY_VERSION and
 * SECRETS_ENCRYPTION_PREVIOUS_KEYS ("version:base64key" pairs separated by commas). Never puts a key in a message.
 */
export function parseKeyRing(currentKey: string, currentVersion: number, previousKeys = ''): SecretKeyRing {
  if (!Number.isInteger(currentVersion) || currentVersion < 1) {
    throw new Error('SECRETS_ENCRYPTION_KEY_VERSION must be a positive integer');
  }
  const keys = new Map<number, Buffer>([[currentVersion, decodeKey(currentKey, 'SECRETS_ENCRYPTION_KEY')]]);
  for (const pair of previousKeys.split(',').map((p) => p.trim())) {
    if (!pair) continue;
    const m = /^(\d+):(\S+)$/.exec(pair);
    if (!m) throw new Error('SECRETS_ENCRYPTION_PREVIOUS_KEYS must be "version:base64key" pairs');
    const version = Number(m[1]);
    const key = decodeKey(m[2], `SECRETS_ENCRYPTION_PREVIOUS_KEYS version ${version}`);
    const known = keys.get(version);
    if (known && !known.equals(key)) {
      throw new Error(
        `SECRETS_ENCRYPTION_PREVIOUS_KEYS: version ${version} is given twice with different keys`,
      );
    }
    keys.set(version, key);
  }
  return { currentVersion, keys };
}

export function secretAad(endpointId: string, keyVersion: number, purpose: SealedPurpose = 'secret'): Buffer {
  const prefix = purpose === 'secret' ? '' : `${purpose}:`;
  return Buffer.from(`${prefix}${endpointId}:${keyVersion}`, 'utf8');
}

/** Seals a plaintext (a secret, or headers as JSON) for one endpoint under the ring's current key. */
export function encryptSecret(
  ring: SecretKeyRing,
  endpointId: string,
  plaintext: string,
  purpose: SealedPurpose = 'secret',
): SealedSecret {
  const keyVersion = ring.currentVersion;
  const key = ring.keys.get(keyVersion);
  if (!key) throw new Error(`no key for the current version ${keyVersion}`);
  const iv = randomBytes(SECRET_IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: SECRET_TAG_BYTES });
  cipher.setAAD(secretAad(endpointId, keyVersion, purpose));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { keyVersion, ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]) };
}

/** Opens a blob sealed by encryptSecret for this endpoint and purpose; throws SecretDecryptionError otherwise. */
export function decryptSecret(
  ring: SecretKeyRing,
  endpointId: string,
  keyVersion: number,
  blob: Uint8Array,
  purpose: SealedPurpose = 'secret',
): string {
  const key = ring.keys.get(keyVersion);
  if (!key) {
    throw new SecretDecryptionError(endpointId, keyVersion, 'that key version is not configured', purpose);
  }
  const data = Buffer.from(blob);
  if (data.length < SECRET_IV_BYTES + SECRET_TAG_BYTES) {
    throw new SecretDecryptionError(endpointId, keyVersion, 'the stored ciphertext is truncated', purpose);
  }
  const iv = data.subarray(0, SECRET_IV_BYTES);
  const tag = data.subarray(SECRET_IV_BYTES, SECRET_IV_BYTES + SECRET_TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: SECRET_TAG_BYTES });
    decipher.setAAD(secretAad(endpointId, keyVersion, purpose));
    decipher.setAuthTag(tag);
    const body = data.subarray(SECRET_IV_BYTES + SECRET_TAG_BYTES);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptionError(
      endpointId,
      keyVersion,
      'authentication failed (the row was not sealed for this endpoint, or was altered)',
      purpose,
    );
  }
}

/** The key ring of the SECRETS_ENCRYPTION_* settings (validated at boot by the config schema). */
export function keyRingOf(config: {
  SECRETS_ENCRYPTION_KEY: string;
  SECRETS_ENCRYPTION_KEY_VERSION: number;
  SECRETS_ENCRYPTION_PREVIOUS_KEYS?: string;
}): SecretKeyRing {
  return parseKeyRing(
    config.SECRETS_ENCRYPTION_KEY,
    config.SECRETS_ENCRYPTION_KEY_VERSION,
    config.SECRETS_ENCRYPTION_PREVIOUS_KEYS,
  );
}
