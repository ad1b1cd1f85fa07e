import { Injectable } from '@nestjs/common';
import { EndpointUrlSearchRepository } from './endpoint-url-search.repository';

export interface EndpointUrlMatchView {
  id: string;
  applicationId: string;
  url: string;
  disabled: boolean;
  createdAt: string;
}

/** Finds endpoints by a piece of their URL across every application (admin and support only). */
@Injectable()
export class EndpointUrlSearchService {
  constructor(private readonly repo: EndpointUrlSearchRepository) {}

  /** At most `limit` matches, newest first; text shorter than 3 characters matches nothing. */
  async search(text: string, limit = 50): Promise<EndpointUrlMatchView[]> {
    const q = text.trim();
    if (q.length < 3 || q.length > 2048) return [];
    const rows = await this.repo.findByUrlSubstring(q, limit);
    return rows.map((r) => ({
      id: r.id,
      applicationId: r.applicationId,
      url: r.url,
      disabled: r.disabled,
      createdAt: r.createdAt.toISOString(),
    }));
  }
}
