import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { decryptSecret, encryptSecret, keyRingOf, SecretKeyRing } from './secret-cipher';

/** An endpoint's custom headers as stored: sealed (AES-256-GCM, see secret-cipher.ts), or none. */
export interface SealedHeaders {
  headersSealed: Uint8Array<ArrayBuffer> | null;
  headersKeyVersion: number | null;
}

/**
 * Endpoint custom headers at rest (receiver credentials such as `Authorization`): sealed under the secrets key
 * ring with associated data bound to the endpoint and the purpose, opened only where a request is built or the
 * owner reads its endpoint. An endpoint without headers stores nothing.
 */
@Injectable()
export class EndpointHeadersCipher {
  private readonly ring: SecretKeyRing;

  constructor(config: AppConfig) {
    this.ring = keyRingOf(config);
  }

  seal(endpointId: string, headers: Record<string, string>): SealedHeaders {
    if (Object.keys(headers).length === 0) return { headersSealed: null, headersKeyVersion: null };
    const sealed = encryptSecret(this.ring, endpointId, JSON.stringify(headers), 'headers');
    return { headersSealed: new Uint8Array(sealed.ciphertext), headersKeyVersion: sealed.keyVersion };
  }

  /** Throws SecretDecryptionError when the blob does not open (tampered, another endpoint's, unknown key). */
  open(endpointId: string, stored: SealedHeaders): Record<string, string> {
    if (stored.headersSealed === null || stored.headersKeyVersion === null) return {};
    const text = decryptSecret(
      this.ring,
      endpointId,
      stored.headersKeyVersion,
      stored.headersSealed,
      'headers',
    );
    return JSON.parse(text) as Record<string, string>;
  }
}
