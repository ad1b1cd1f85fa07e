import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { AppConfig } from '@tern/config';
import { PrismaClient } from './generated/prisma/client';

/** The one Prisma client of a process. Only repositories use it. */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(config: AppConfig) {
    super({
      adapter: new PrismaPg({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE }),
    });
  }

  /** Last of all (after workers have finished their jobs in onModuleDestroy). */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
