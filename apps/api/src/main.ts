import 'reflect-metadata';
import { ConfigError, loadConfig } from '@tern/config';
import {
  checkPostgres,
  checkRedis,
  DependencyUnavailableError,
  ensureDatabase,
  migrate,
} from '@tern/database';
import { createApiApp } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfig();
  await checkPostgres(config.DATABASE_URL);
  await checkRedis(config.REDIS_URL);
  if (config.MIGRATE_ON_START) {
    await ensureDatabase(config.DATABASE_URL);
    await migrate(config.DATABASE_URL);
  }
  const app = await createApiApp(config);
  await app.listen(config.PORT, config.HOST);
  console.log(`tern api listening on http://${config.HOST}:${config.PORT} (docs at /docs)`);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof DependencyUnavailableError) {
    console.error(`tern api: ${err.message}`);
  } else {
    console.error('tern api failed to start:', err);
  }
  process.exit(1);
});
