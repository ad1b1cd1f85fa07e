import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

/** prisma/migrations, found from the repo root whether we run from src (tests) or dist. */
export function defaultMigrationsDir(): string {
  const candidates = [
    resolve(process.cwd(), 'prisma/migrations'),
    resolve(__dirname, '../../../prisma/migrations'),
    resolve(__dirname, '../../../../prisma/migrations'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`prisma/migrations not found (looked in ${candidates.join(', ')})`);
  return found;
}

export function readMigrations(dir = defaultMigrationsDir()): MigrationFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name, 'migration.sql'));
      return {
        name,
        sql: bytes.toString('utf8'),
        checksum: createHash('sha256').update(bytes).digest('hex'),
      };
    });
}

const MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

/** Any fixed number: serialises concurrent migrators (several processes starting at once). */
const MIGRATION_LOCK_KEY = 72_616_201;

/**
 * Applies pending migrations in order, each in its own transaction, and records them in `_prisma_migrations`
 * exactly as `prisma migrate deploy` does (checksum = sha256 hex of the file), so Prisma's own CLI agrees on a
 * machine where its schema engine is available. Refuses to run if an applied migration's file has changed.
 */
export async function migrate(databaseUrl: string, dir = defaultMigrationsDir()): Promise<MigrateResult> {
  const files = readMigrations(dir);
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(MIGRATIONS_TABLE);
    const { rows } = await client.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
    }>('SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL');
    const done = new Map(rows.filter((r) => r.finished_at).map((r) => [r.migration_name, r.checksum]));
    const failed = rows.find((r) => !r.finished_at);
    if (failed) throw new Error(`migration ${failed.migration_name} failed earlier and was never finished`);
    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    for (const file of files) {
      const checksum = done.get(file.name);
      if (checksum !== undefined) {
        if (checksum !== file.checksum) {
          throw new Error(`migration ${file.name} was changed after it was applied (checksum differs)`);
        }
        result.alreadyApplied.push(file.name);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(file.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
           VALUES ($1, $2, now(), $3, 1)`,
          [randomUUID(), file.checksum, file.name],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file.name} failed: ${(err as Error).message}`, { cause: err });
      }
      result.applied.push(file.name);
    }
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

const CREATED_CONCURRENTLY: readonly string[] = ['42P04', '23505'];

/** Creates the database named in the URL if it does not exist (connects to the "postgres" database to do it). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return false;
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return true;
  } catch (err) {
    // Created concurrently: 42P04 (duplicate_database) when the other CREATE committed first, 23505 (unique
    // violation on pg_database_datname_index) when both passed the check and raced to insert the catalog row.
    const code = (err as { code?: string }).code;
    if (code !== undefined && CREATED_CONCURRENTLY.includes(code)) return false;
    throw err;
  } finally {
    await client.end();
  }
}
