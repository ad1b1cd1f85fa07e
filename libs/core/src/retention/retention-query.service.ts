import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { RetentionRepository } from './retention.repository';

/** How far back history goes (GET /v1/retention). */
export interface RetentionView {
  /** Events and attempts older than this many days are deleted; 0 = kept forever. */
  retentionDays: number;
  /** The oldest event still stored (of the caller's application, or of all for admin and support keys). */
  oldestEventAt: string | null;
  /** The start of the oldest attempt still stored (same scope). */
  oldestAttemptAt: string | null;
}

@Injectable()
export class RetentionQueryService {
  constructor(
    private readonly config: AppConfig,
    private readonly repo: RetentionRepository,
  ) {}

  /** `applicationId` null = every application. */
  async describe(applicationId: string | null): Promise<RetentionView> {
    const oldest = await this.repo.oldest(applicationId);
    return {
      retentionDays: this.config.RETENTION_DAYS,
      oldestEventAt: oldest.eventAt?.toISOString() ?? null,
      oldestAttemptAt: oldest.attemptAt?.toISOString() ?? null,
    };
  }
}
