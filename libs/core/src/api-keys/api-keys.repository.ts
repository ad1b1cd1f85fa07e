import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';

export interface ApiKeyRecord {
  id: string;
  applicationId: string | null;
  role: 'application' | 'support';
  name: string;
  secretHash: string;
  createdAt: Date;
  revokedAt: Date | null;
}

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(data: {
    id: string;
    applicationId: string | null;
    role: 'application' | 'support';
    name: string;
    secretHash: string;
  }): Promise<ApiKeyRecord> {
    return this.prisma.apiKey.create({ data });
  }

  async findActive(id: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findFirst({ where: { id, revokedAt: null } });
  }

  async listForApplication(applicationId: string): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({ where: { applicationId }, orderBy: { id: 'desc' } });
  }

  /**
   * Revokes a live key (of `applicationId`, or a support key when null). Revoking an application key also ends
   * every portal session of its application (bumps portal_session_epoch), in the same statement.
   */
  async revoke(id: string, applicationId: string | null): Promise<boolean> {
    const [{ n }] = await this.prisma.$queryRaw<{ n: number }[]>`
      WITH k AS (
        UPDATE api_keys SET revoked_at = now()
        WHERE id = ${id} AND application_id IS NOT DISTINCT FROM ${applicationId}::text AND revoked_at IS NULL
        RETURNING application_id
      ), bump AS (
        UPDATE applications SET portal_session_epoch = portal_session_epoch + 1, updated_at = now()
        WHERE id IN (SELECT application_id FROM k)
      )
      SELECT count(*)::int AS n FROM k`;
    return n === 1;
  }
}
