import { Injectable } from '@nestjs/common';
import { CreatedApiKey, ApiKeysService } from '../api-keys/api-keys.service';
import { NotFoundError } from '../common/errors';
import { newId } from '../common/ids';
import { Page, PageCursor, toPage } from '../common/pagination';
import { ApplicationRecord, ApplicationsRepository } from './applications.repository';

export interface ApplicationView {
  id: string;
  name: string;
  createdAt: string;
}

@Injectable()
export class ApplicationsService {
  constructor(
    private readonly repo: ApplicationsRepository,
    private readonly apiKeys: ApiKeysService,
  ) {}

  /** Creates an application and its first API key (returned once). */
  async create(name: string): Promise<ApplicationView & { apiKey: CreatedApiKey }> {
    const app = await this.repo.create({ id: newId('app'), name });
    const apiKey = await this.apiKeys.create(app.id, 'application', 'default');
    return { ...toView(app), apiKey };
  }

  async get(id: string): Promise<ApplicationView> {
    const app = await this.repo.findById(id);
    if (!app) throw new NotFoundError('application', id);
    return toView(app);
  }

  /** Application names for table labels, in one query (unknown ids are left out). */
  names(ids: string[]): Promise<Map<string, string>> {
    return this.repo.names(ids);
  }

  async list(limit: number, after?: PageCursor): Promise<Page<ApplicationView>> {
    return toPage(await this.repo.list(limit, after), limit, toView);
  }
}

function toView(a: ApplicationRecord): ApplicationView {
  return { id: a.id, name: a.name, createdAt: a.createdAt.toISOString() };
}
