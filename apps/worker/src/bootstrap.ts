import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig } from '@tern/config';
import { createLogger, PinoNestLogger, resolveLogFormat } from '@tern/observability';
import { WorkerModule } from './worker.module';

/** Builds the worker exactly as main.ts runs it (tests use this too). */
export async function createWorkerApp(config: AppConfig): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule, {
    abortOnError: false,
    logger: new PinoNestLogger(
      createLogger(config.LOG_LEVEL, 'tern-worker', { format: resolveLogFormat(config.LOG_FORMAT) }),
    ),
  });
  await app.init();
  return app;
}
