import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';

export interface EndpointUrlMatchRecord {
  id: string;
  applicationId: string;
  url: string;
  disabled: boolean;
  createdAt: Date;
}

/** Support search: live endpoints of every application whose URL contains a piece of text. */
@Injectable()
export class EndpointUrlSearchRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Case-insensitive substring match (LIKE wildcards in `text` are matched literally), newest first. */
  async findByUrlSubstring(text: string, limit: number): Promise<EndpointUrlMatchRecord[]> {
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.prisma.$queryRaw<EndpointUrlMatchRecord[]>`
      SELECT id, application_id AS "applicationId", url, disabled, created_at AS "createdAt"
      FROM endpoints
      WHERE deleted_at IS NULL AND url ILIKE ${pattern}
      ORDER BY created_at DESC, id DESC
      LIMIT ${limit}::int`;
  }
}
