import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { AppConfig } from '@tern/config';
import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { PrismaClient } from './generated/prisma/client';

/** Most distinct statements given a name (and so prepared once per connection); the rest run unnamed. */
export const MAX_NAMED_STATEMENTS = 1000;

/**
 * Names statements by a hash of their SQL so each pooled connection prepares (plans) a statement once and reuses
 * it — about 1 ms of planning saved per query on the hot paths. Bounded: past MAX_NAMED_STATEMENTS distinct
 * statements, new ones are sent unnamed, so a stream of one-off SQL can't grow every connection's cache for ever.
 */
export function createStatementNamer(max = MAX_NAMED_STATEMENTS): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return ({ sql }) => {
    const known = names.get(sql);
    if (known !== undefined) return known;
    if (names.size >= max) return '';
    const name = `tern_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    names.set(sql, name);
    return name;
  };
}

/** The one Prisma client of a process. Only repositories use it. */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(config: AppConfig) {
    const logger = new Logger('PrismaService');
    const report = (err: Error) => logger.warn(`database connection error: ${err.message}`);
    // Our own pool, so every connection gets an 'error' listener for its whole life: a connection that fails
    // outside a query (server restarting, a protocol error while the pool is closing) is logged and replaced,
    // instead of an unhandled 'error' event ending the process (seen under fault injection: docs/reliability.md).
    const pool = new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE });
    pool.on('error', report);
    pool.on('connect', (client) => client.on('error', report));
    super({
      adapter: new PrismaPg(pool, {
        statementNameGenerator: createStatementNamer(),
        disposeExternalPool: true,
        onPoolError: report,
        onConnectionError: report,
      }),
    });
  }

  /** Last of all (after workers have finished their jobs in onModuleDestroy). */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
