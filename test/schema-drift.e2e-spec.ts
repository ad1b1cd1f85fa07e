import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { migrate, readMigrations } from '../libs/database/src/migrator';
import {
  Catalog,
  Difference,
  diffCatalogs,
  extractFunctionDefinitions,
  formatDifferences,
  readCatalog,
  repoRoot,
} from './support/schema-catalog';
import { adminDatabaseUrl, ScratchDatabases } from './support/scratch-db';

// Fails when prisma/migrations (applied by our migrator) and prisma/schema.prisma describe different tables.
// Prisma 7's CLI can't produce SQL here (no schema engine), so tools/schema-diff (Prisma 6, WASM engine) turns
// schema.prisma into `migrate diff --from-empty` SQL; both go into scratch databases whose catalogs are compared.

const MIGRATIONS_DIR = join(repoRoot(), 'prisma', 'migrations');
const MIGRATIONS = 'migrations';
const SCHEMA = 'schema.prisma';

async function schemaToSql(): Promise<string> {
  const root = repoRoot();
  const script = join(root, 'tools', 'schema-diff', 'schema-to-sql.mjs');
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [script, join(root, 'prisma', 'schema.prisma')],
      {
        env: { ...process.env, SCHEMA_DIFF_DATABASE_URL: adminDatabaseUrl() },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 120_000,
      },
    );
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`tools/schema-diff/schema-to-sql.mjs failed: ${e.stderr?.trim() || e.message}`, {
      cause: err,
    });
  }
}

/**
 * Partial indexes exist in the migrations only (Prisma's schema language can't express them); schema.prisma names
 * each in a `// partial index: <name>` comment. Such an index is no drift; an unnamed one, or a name without an
 * index, is.
 */
function partialIndexesNamedInSchema(): Set<string> {
  const text = readFileSync(join(repoRoot(), 'prisma', 'schema.prisma'), 'utf8');
  return new Set([...text.matchAll(/\/\/ partial index: (\w+)/g)].map((m) => m[1]));
}

function withoutNamedPartialIndexes(diffs: Difference[], named: Set<string>): Difference[] {
  return diffs.filter((d) => {
    const name = /^index \w+\.(\w+)$/.exec(d.object)?.[1];
    return !(name && named.has(name) && d.right === undefined && d.left?.includes('where: '));
  });
}

async function runSql(databaseUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('prisma/migrations and prisma/schema.prisma', () => {
  const scratch = new ScratchDatabases();
  let fromSchema: Catalog;

  before(async () => {
    const sql = await schemaToSql();
    // Column defaults call functions (tern_id) that only our migrations define: create them first.
    const functions = readMigrations(MIGRATIONS_DIR).flatMap((m) => extractFunctionDefinitions(m.sql));
    const db = await scratch.create();
    await runSql(db.url, ['SET check_function_bodies = off;', ...functions].join('\n'));
    await runSql(db.url, sql);
    fromSchema = await readCatalog(db.url);
    assert.ok(
      [...fromSchema.keys()].some((k) => k.startsWith('table ')),
      `the SQL from schema.prisma created no tables:\n${sql}`,
    );
  });

  after(() => scratch.dropAll());

  it('describe the same tables, columns, enums, keys, indexes and foreign keys', async () => {
    const db = await scratch.create();
    await migrate(db.url, MIGRATIONS_DIR);
    const catalog = await readCatalog(db.url);
    const named = partialIndexesNamedInSchema();
    const diffs = withoutNamedPartialIndexes(diffCatalogs(catalog, fromSchema), named);
    for (const name of named) {
      assert.ok(
        [...catalog.keys()].some((k) => k.endsWith(`.${name}`) && k.startsWith('index ')),
        `schema.prisma names partial index ${name}, which the migrations don't create`,
      );
    }
    assert.equal(
      diffs.length,
      0,
      `prisma/migrations and prisma/schema.prisma disagree (add a migration, or fix the schema):\n` +
        formatDifferences(diffs, MIGRATIONS, SCHEMA),
    );
  });

  it('would notice a column that only the migrations add', async () => {
    const db = await scratch.create();
    await migrate(db.url, MIGRATIONS_DIR);
    await runSql(db.url, 'ALTER TABLE endpoints ADD COLUMN drift_probe int');
    const diffs = withoutNamedPartialIndexes(
      diffCatalogs(await readCatalog(db.url), fromSchema),
      partialIndexesNamedInSchema(),
    );
    assert.deepEqual(
      diffs,
      [{ object: 'column endpoints.drift_probe', left: 'type: integer, nullable: yes, default: none' }],
      formatDifferences(diffs, MIGRATIONS, SCHEMA),
    );
    assert.equal(
      formatDifferences(diffs, MIGRATIONS, SCHEMA),
      '1 difference(s) between migrations and schema.prisma:\n' +
        '  - column endpoints.drift_probe: only in migrations (type: integer, nullable: yes, default: none)',
    );
  });
});
