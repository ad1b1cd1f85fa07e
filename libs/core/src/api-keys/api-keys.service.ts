import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { newId } from '../common/ids';
import { Principal } from '../common/principal';
import {
  constantTimeEqual,
  formatApiKeyToken,
  hashApiKeySecret,
  makeApiKeySecret,
  parseApiKeyToken,
} from './api-key-token';
import { ApiKeyRecord, ApiKeysRepository } from './api-keys.repository';

export interface ApiKeyView {
  id: string;
  applicationId: string | null;
  role: 'application' | 'support';
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface CreatedApiKey extends ApiKeyView {
  /** The full key. Shown once, never stored. */
  key: string;
}

/** Most verified keys held in the cache at once. */
export const MAX_CACHED_KEYS = 10_000;

@Injectable()
export class ApiKeysService {
  /** Verified tokens (by sha256) → principal, for API_KEY_CACHE_TTL_MS. Bounded; cleared on any revocation. */
  private readonly verified = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly config: AppConfig,
  ) {}

  async create(
    applicationId: string | null,
    role: 'application' | 'support',
    name = '',
  ): Promise<CreatedApiKey> {
    const id = newId('key');
    const secret = makeApiKeySecret();
    const row = await this.repo.create({
      id,
      applicationId,
      role,
      name,
      secretHash: hashApiKeySecret(secret),
    });
    return { ...toApiKeyView(row), key: formatApiKeyToken(id, secret) };
  }

  async list(applicationId: string): Promise<ApiKeyView[]> {
    return (await this.repo.listForApplication(applicationId)).map(toApiKeyView);
  }

  async revoke(id: string, applicationId: string | null): Promise<boolean> {
    const revoked = await this.repo.revoke(id, applicationId);
    this.verified.clear();
    return revoked;
  }

  /** Resolves a bearer token to a principal, or null. Every comparison is constant-time. */
  async authenticate(token: string): Promise<Principal | null> {
    const ttl = this.config.API_KEY_CACHE_TTL_MS;
    const cacheKey = ttl > 0 ? hashApiKeySecret(token) : '';
    const hit = ttl > 0 ? this.verified.get(cacheKey) : undefined;
    if (hit && hit.expiresAt > Date.now()) return hit.principal;
    const principal = await this.verify(token);
    if (principal && ttl > 0) {
      if (this.verified.size >= MAX_CACHED_KEYS) this.verified.clear();
      this.verified.set(cacheKey, { principal, expiresAt: Date.now() + ttl });
    }
    return principal;
  }

  private async verify(token: string): Promise<Principal | null> {
    if (constantTimeEqual(token, this.config.ADMIN_API_KEY)) return { kind: 'admin' };
    const parsed = parseApiKeyToken(token);
    if (!parsed) return null;
    const row = await this.repo.findActive(parsed.keyId);
    const hash = hashApiKeySecret(parsed.secret);
    // Compare even when no row was found, so timing does not tell whether a key id exists.
    const ok = constantTimeEqual(hash, row?.secretHash ?? '0'.repeat(64));
    if (!row || !ok) return null;
    if (row.role === 'support') return { kind: 'support', keyId: row.id };
    if (!row.applicationId) return null;
    return { kind: 'application', applicationId: row.applicationId, keyId: row.id };
  }
}

/** The API view of a key record (application and support keys alike). */
export function toApiKeyView(r: ApiKeyRecord): ApiKeyView {
  return {
    id: r.id,
    applicationId: r.applicationId,
    role: r.role,
    name: r.name,
    createdAt: r.createdAt.toISOString(),
    revokedAt: r.revokedAt?.toISOString() ?? null,
  };
}
