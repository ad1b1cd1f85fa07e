import { AppConfig, ConfigError, loadConfig } from '@tern/config';
import { checkPostgres, checkRedis, DependencyUnavailableError } from './dependency-check';
import { ensureDatabase, migrate } from './migrator';

/**
 * What every process does before Nest boots: validate the environment, check Postgres and Redis answer (with a
 * plain-words message if not), and apply pending migrations unless MIGRATE_ON_START=false.
 */
export async function preflight(): Promise<AppConfig> {
  const config = loadConfig();
  await checkPostgres(config.DATABASE_URL);
  await checkRedis(config.REDIS_URL);
  if (config.MIGRATE_ON_START) {
    await ensureDatabase(config.DATABASE_URL);
    await migrate(config.DATABASE_URL);
  }
  return config;
}

/** Runs a process's main; a bad config or an unreachable dependency ends it with one readable line, exit 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError || err instanceof DependencyUnavailableError) {
      console.error(`${name}: ${err.message}`);
    } else {
      console.error(`${name} failed to start:`, err);
    }
    process.exit(1);
  });
}
