import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';
import { ApiKeyRecord } from './api-keys.repository';

/** Support keys: api_keys rows with role "support" and no application. */
@Injectable()
export class SupportKeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  list(): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({
      where: { role: 'support', applicationId: null },
      orderBy: { id: 'desc' },
    });
  }

  find(id: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findFirst({ where: { id, role: 'support', applicationId: null } });
  }
}
