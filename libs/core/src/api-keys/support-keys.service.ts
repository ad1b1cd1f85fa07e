import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../common/errors';
import { isId } from '../common/ids';
import { ApiKeysService, ApiKeyView, CreatedApiKey, toApiKeyView } from './api-keys.service';
import { SupportKeysRepository } from './support-keys.repository';

/**
 * Support keys (created by the admin): read every application's data, redeliver and recover; never read
 * signing secrets or change endpoints. The API's @Auth lists say which routes accept them.
 */
@Injectable()
export class SupportKeysService {
  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly repo: SupportKeysRepository,
  ) {}

  /** The key itself is in the answer, once. */
  create(name: string): Promise<CreatedApiKey> {
    return this.apiKeys.create(null, 'support', name);
  }

  async list(): Promise<ApiKeyView[]> {
    return (await this.repo.list()).map(toApiKeyView);
  }

  /** Revoking is immediate (the next request with the key gets 401) and idempotent. */
  async revoke(id: string): Promise<ApiKeyView> {
    const row = isId('key', id) ? await this.repo.find(id) : null;
    if (!row) throw new NotFoundError('support key', id);
    // Through ApiKeysService: it also drops its cache of verified keys. Application keys always have an
    // application, so applicationId null matches support keys only.
    await this.apiKeys.revoke(id, null);
    return toApiKeyView((await this.repo.find(id)) ?? row);
  }
}
