import { checkPostgres, checkRedis, ensureDatabase, migrate } from '@tern/database';
import { TEST_ENV } from './test-env';

/** Once per run, before any test file: the test database exists and is migrated. */
export async function globalSetup(): Promise<void> {
  await checkPostgres(TEST_ENV.DATABASE_URL);
  await checkRedis(TEST_ENV.REDIS_URL);
  await ensureDatabase(TEST_ENV.DATABASE_URL);
  await migrate(TEST_ENV.DATABASE_URL);
}

if (require.main === module) {
  globalSetup().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
}
