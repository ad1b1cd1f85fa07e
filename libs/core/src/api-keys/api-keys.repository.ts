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

  async revoke(id: string, applicationId: string | null): Promise<boolean> {
    const r = await this.prisma.apiKey.updateMany({
      where: { id, applicationId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return r.count === 1;
  }
}
