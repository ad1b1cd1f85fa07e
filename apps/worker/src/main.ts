import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig } from '@tern/config';
import {
  checkPostgres,
  checkRedis,
  DependencyUnavailableError,
  ensureDatabase,
  migrate,
} from '@tern/database';
import { createLogger, PinoNestLogger } from '@tern/observability';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const config = loadConfig();
  await checkPostgres(config.DATABASE_URL);
  await checkRedis(config.REDIS_URL);
  if (config.MIGRATE_ON_START) {
    await ensureDatabase(config.DATABASE_URL);
    await migrate(config.DATABASE_URL);
  }
  const app = await NestFactory.createApplicationContext(WorkerModule, {
    logger: new PinoNestLogger(createLogger(config.LOG_LEVEL, 'tern-worker')),
  });
  app.enableShutdownHooks();
  await app.init();
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof DependencyUnavailableError) {
    console.error(`tern worker: ${err.message}`);
  } else {
    console.error('tern worker failed to start:', err);
  }
  process.exit(1);
});
