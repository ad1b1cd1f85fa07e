import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ensureDatabase, migrate } from '@tern/database';
import { TEST_ENV } from './test-env';

/** A fresh, migrated database for tests that run a worker (its dispatcher must not see other files' deliveries). */
export async function createScratchDatabase(
  label: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tern_t_${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(TEST_ENV.DATABASE_URL, name);
  await ensureDatabase(url);
  await migrate(url);
  return { url, drop: () => dropDatabase(name) };
}

/** A client connected to the shared test database (TEST_ENV.DATABASE_URL); end() it when done. */
export async function connectTestDb(): Promise<Client> {
  const db = new Client({ connectionString: TEST_ENV.DATABASE_URL });
  await db.connect();
  return db;
}

/** How many events and deliveries an application has, and how many of those the dispatcher may release now. */
export async function rowCounts(db: Client, applicationId: string) {
  const r = await db.query<{ events: number; deliveries: number; releasable: number }>(
    `SELECT (SELECT count(*) FROM events WHERE application_id = $1)::int AS events,
            (SELECT count(*) FROM deliveries WHERE application_id = $1)::int AS deliveries,
            (SELECT count(*) FROM deliveries WHERE application_id = $1 AND status = 'pending'
               AND released_at IS NULL AND next_attempt_at <= now())::int AS releasable`,
    [applicationId],
  );
  return r.rows[0];
}

export async function sql<T = any>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// --- scratch databases --------------------------------------------------------------------------------------------

/** The maintenance database on the test Postgres (same server, user and options as TEST_ENV.DATABASE_URL). */
export function adminDatabaseUrl(): string {
  return withDatabase(TEST_ENV.DATABASE_URL, 'postgres');
}

export function withDatabase(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

export function scratchDatabaseName(): string {
  return `tern_scratch_${randomBytes(6).toString('hex')}`;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function onAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminDatabaseUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function databaseExists(name: string): Promise<boolean> {
  return onAdmin(
    async (c) => ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0,
  );
}

export async function dropDatabase(name: string): Promise<void> {
  await onAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

/**
 * Creates and tracks `tern_scratch_<random>` databases; `dropAll()` (call it from `after`) drops every one of them,
 * including names only reserved with `reserve()` (for code under test that creates the database itself).
 */
export class ScratchDatabases {
  private readonly names = new Set<string>();

  reserve(): { name: string; url: string } {
    const name = scratchDatabaseName();
    this.names.add(name);
    return { name, url: withDatabase(TEST_ENV.DATABASE_URL, name) };
  }

  async create(): Promise<{ name: string; url: string }> {
    const db = this.reserve();
    await onAdmin((c) => c.query(`CREATE DATABASE ${quoteIdent(db.name)}`));
    return db;
  }

  async dropAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const name of this.names) {
      try {
        await dropDatabase(name);
        this.names.delete(name);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length)
      throw new AggregateError(errors, `could not drop ${errors.length} scratch database(s)`);
  }
}
