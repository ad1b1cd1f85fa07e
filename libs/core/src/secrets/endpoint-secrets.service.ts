import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { InvalidInputError, NotFoundError } from '../common/errors';
import { isId, newId } from '../common/ids';
import { NewEndpointSecretRow } from '../endpoints/endpoints.repository';
import { EndpointSecretsRepository } from './endpoint-secrets.repository';
import { decryptSecret, encryptSecret, keyRingOf, SecretKeyRing } from './secret-cipher';
import { generateWebhookSecret, webhookSecretProblem } from './webhook-secret';

export interface EndpointSecretView {
  /** "whsec_…": the key receivers verify signatures with. */
  secret: string;
  createdAt: string;
}

/** A secret ready to store: the plaintext (to show once) and its encrypted row. */
export interface PreparedEndpointSecret {
  plaintext: string;
  row: NewEndpointSecretRow;
}

@Injectable()
export class EndpointSecretsService {
  private readonly ring: SecretKeyRing;

  constructor(
    private readonly repo: EndpointSecretsRepository,
    private readonly config: AppConfig,
  ) {
    this.ring = keyRingOf(config);
  }

  /**
   * Validates a customer's own secret (422 on field `secret`) or generates one, and encrypts it for the endpoint.
   * The row is not stored here: the caller inserts it in its own transaction.
   */
  prepare(endpointId: string, customerSecret?: string): PreparedEndpointSecret {
    if (customerSecret !== undefined) {
      const problem = webhookSecretProblem(customerSecret);
      if (problem) throw new InvalidInputError([{ field: 'secret', reason: problem }]);
    }
    const plaintext = customerSecret ?? generateWebhookSecret();
    const sealed = encryptSecret(this.ring, endpointId, plaintext);
    return { plaintext, row: { id: newId('whs'), ...sealed } };
  }

  /** The current secret of an endpoint of the application. Throws SecretDecryptionError if the row does not open. */
  async get(applicationId: string, endpointId: string): Promise<EndpointSecretView> {
    const row = isId('ep', endpointId) ? await this.repo.findCurrent(applicationId, endpointId) : null;
    if (!row) throw new NotFoundError('endpoint', endpointId);
    return {
      secret: decryptSecret(this.ring, row.endpointId, row.keyVersion, row.ciphertext),
      createdAt: row.createdAt.toISOString(),
    };
  }

  /**
   * Replaces the current secret (with the customer's own, or a generated one). The previous one keeps signing for
   * SECRET_ROTATION_OVERLAP_SECONDS.
   */
  async rotate(
    applicationId: string,
    endpointId: string,
    customerSecret?: string,
  ): Promise<EndpointSecretView> {
    if (!isId('ep', endpointId)) throw new NotFoundError('endpoint', endpointId);
    const next = this.prepare(endpointId, customerSecret);
    const row = await this.repo.rotate(
      applicationId,
      endpointId,
      next.row,
      this.config.SECRET_ROTATION_OVERLAP_SECONDS,
    );
    if (!row) throw new NotFoundError('endpoint', endpointId);
    return { secret: next.plaintext, createdAt: row.createdAt.toISOString() };
  }

  /**
   * For the delivery worker: the plaintext secrets to sign with at `now`, current first, then rotated-out ones
   * that have not expired yet. Empty for an unknown endpoint. Throws SecretDecryptionError if a row does not open.
   */
  async signingSecrets(endpointId: string, now = new Date()): Promise<string[]> {
    const rows = await this.repo.findSigning(endpointId, now);
    return rows.map((r) => decryptSecret(this.ring, r.endpointId, r.keyVersion, r.ciphertext));
  }
}
