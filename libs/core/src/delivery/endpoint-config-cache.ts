import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { EndpointDeliveryConfig, EndpointsRepository } from '../endpoints/endpoints.repository';
import { EndpointSecretsService } from '../secrets/endpoint-secrets.service';

export interface CachedEndpoint {
  config: EndpointDeliveryConfig;
  /** Plaintext signing secrets, current first. */
  secrets: string[];
}

interface Entry {
  value: Promise<CachedEndpoint | null>;
  loadedAt: number;
}

/**
 * Endpoint URL, headers, state and decrypted secrets, per worker process. Entries expire after
 * ENDPOINT_CACHE_TTL_MS and are dropped at once when the endpoint changes (NOTIFY tern_endpoint_changed).
 * Concurrent misses for one endpoint share one load.
 */
@Injectable()
export class EndpointConfigCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly config: AppConfig,
    private readonly endpoints: EndpointsRepository,
    private readonly secrets: EndpointSecretsService,
  ) {}

  get(endpointId: string): Promise<CachedEndpoint | null> {
    const now = Date.now();
    const hit = this.entries.get(endpointId);
    if (hit && now - hit.loadedAt < this.config.ENDPOINT_CACHE_TTL_MS) return hit.value;
    const value = this.load(endpointId);
    const entry = { value, loadedAt: now };
    this.entries.set(endpointId, entry);
    value.catch(() => {
      if (this.entries.get(endpointId) === entry) this.entries.delete(endpointId);
    });
    return value;
  }

  invalidate(endpointId: string): void {
    if (endpointId) this.entries.delete(endpointId);
    else this.entries.clear();
  }

  private async load(endpointId: string): Promise<CachedEndpoint | null> {
    const [config] = await this.endpoints.findForDelivery([endpointId]);
    if (!config) return null;
    const secrets = config.deleted ? [] : await this.secrets.signingSecrets(endpointId);
    return { config, secrets };
  }
}
