import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Client } from 'pg';
import { ensureDatabase, migrate } from '../libs/database/src/migrator';
import { repoRoot } from './support/schema-catalog';
import { databaseExists, ScratchDatabases } from './support/scratch-db';

interface MigrationRow {
  id: string;
  migration_name: string;
  checksum: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
  applied_steps_count: number;
}

const MIGRATIONS_DIR = join(repoRoot(), 'prisma', 'migrations');

/** Migration folder names and the sha256 hex of each migration.sql's bytes, computed here rather than by the migrator. */
function expectedMigrations(dir = MIGRATIONS_DIR): { name: string; checksum: string }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => ({
      name,
      checksum: createHash('sha256')
        .update(readFileSync(join(dir, name, 'migration.sql')))
        .digest('hex'),
    }));
}

async function query<T extends object>(
  databaseUrl: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

function migrationRows(databaseUrl: string): Promise<MigrationRow[]> {
  return query<MigrationRow>(
    databaseUrl,
    'SELECT * FROM "_prisma_migrations" ORDER BY migration_name, started_at',
  );
}

/** A throwaway copy of prisma/migrations that a test may change. */
function copyMigrations(temps: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tern-migrations-'));
  temps.push(dir);
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

describe('migrator', () => {
  const scratch = new ScratchDatabases();
  const temps: string[] = [];
  after(async () => {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
    await scratch.dropAll();
  });

  it('applies every migration once and records it like prisma migrate deploy', async () => {
    const db = await scratch.create();
    const expected = expectedMigrations();
    assert.ok(expected.length > 0);

    const first = await migrate(db.url, MIGRATIONS_DIR);
    assert.deepEqual(first, { applied: expected.map((m) => m.name), alreadyApplied: [] });
    const rows = await migrationRows(db.url);
    assert.deepEqual(
      rows.map((r) => ({ name: r.migration_name, checksum: r.checksum })),
      expected,
    );
    for (const r of rows) {
      assert.match(r.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.match(r.checksum, /^[0-9a-f]{64}$/);
      assert.ok(r.finished_at instanceof Date, `${r.migration_name} has no finished_at`);
      assert.ok(r.finished_at.getTime() >= r.started_at.getTime());
      assert.equal(r.rolled_back_at, null);
      assert.equal(r.applied_steps_count, 1);
    }
    assert.equal((await query(db.url, `SELECT 1 FROM pg_tables WHERE tablename = 'applications'`)).length, 1);

    const second = await migrate(db.url, MIGRATIONS_DIR);
    assert.deepEqual(second, { applied: [], alreadyApplied: expected.map((m) => m.name) });
    assert.deepEqual(await migrationRows(db.url), rows);
  });

  it('lets two migrators start at once: both succeed and each migration is applied exactly once', async () => {
    const db = await scratch.create();
    const names = expectedMigrations().map((m) => m.name);
    const results = await Promise.all([migrate(db.url, MIGRATIONS_DIR), migrate(db.url, MIGRATIONS_DIR)]);
    assert.deepEqual(results.flatMap((r) => r.applied).sort(), names);
    assert.deepEqual(results.flatMap((r) => r.alreadyApplied).sort(), names);
    for (const r of results) assert.deepEqual([...r.applied, ...r.alreadyApplied].sort(), names);
    const counts = await query<{ migration_name: string; n: number }>(
      db.url,
      'SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY migration_name ORDER BY 1',
    );
    assert.deepEqual(
      counts,
      names.map((name) => ({ migration_name: name, n: 1 })),
    );
  });

  it('refuses to run when an applied migration file has changed', async () => {
    const db = await scratch.create();
    await migrate(db.url, MIGRATIONS_DIR);
    const rowsBefore = await migrationRows(db.url);
    const dir = copyMigrations(temps);
    const [first] = expectedMigrations(dir);
    const file = join(dir, first.name, 'migration.sql');
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1] === 0x0a ? 0x20 : 0x0a; // one byte, SQL unchanged
    writeFileSync(file, bytes);
    assert.notEqual(expectedMigrations(dir)[0].checksum, first.checksum);

    await assert.rejects(migrate(db.url, dir), (err: Error) => {
      assert.match(err.message, new RegExp(`${first.name}.*changed after it was applied`));
      return true;
    });
    assert.deepEqual(await migrationRows(db.url), rowsBefore);
  });

  it('rolls a failing migration back completely and records nothing for it', async () => {
    const db = await scratch.create();
    const dir = copyMigrations(temps);
    const broken = '99991231235959_broken';
    mkdirSync(join(dir, broken));
    writeFileSync(
      join(dir, broken, 'migration.sql'),
      'CREATE TABLE migrator_probe (id int);\nINSERT INTO migrator_probe VALUES (1);\nSELECT * FROM no_such_table;\n',
    );
    const good = expectedMigrations().map((m) => m.name);

    await assert.rejects(migrate(db.url, dir), (err: Error) => {
      assert.match(err.message, new RegExp(`migration ${broken} failed: .*no_such_table`));
      return true;
    });
    const rows = await migrationRows(db.url);
    assert.deepEqual(
      rows.map((r) => r.migration_name),
      good,
      'the migrations before the broken one stay applied; the broken one leaves no row',
    );
    assert.deepEqual(await query(db.url, `SELECT 1 FROM pg_tables WHERE tablename = 'migrator_probe'`), []);

    // Nothing is left half-done: the same database migrates cleanly once the broken file is gone.
    rmSync(join(dir, broken), { recursive: true });
    assert.deepEqual(await migrate(db.url, dir), { applied: [], alreadyApplied: good });
  });

  it('ensureDatabase creates a missing database and leaves an existing one alone', async () => {
    const db = scratch.reserve();
    assert.equal(await databaseExists(db.name), false);
    assert.equal(await ensureDatabase(db.url), true);
    assert.equal(await databaseExists(db.name), true);
    await migrate(db.url, MIGRATIONS_DIR);
    assert.equal(await ensureDatabase(db.url), false);
    assert.equal(await databaseExists(db.name), true);
    // "Leaves it alone": what was in it is still there.
    assert.equal((await migrationRows(db.url)).length, expectedMigrations().length);
  });
});
