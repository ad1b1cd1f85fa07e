#!/usr/bin/env node
// Usage: node tools/schema-diff/schema-to-sql.mjs <path to schema.prisma>
// Prints the SQL that Prisma 6 would write for that schema on an empty database (`prisma migrate diff --from-empty
// --to-schema-datamodel ... --script`), without downloading any Prisma engine. Prisma 7's CLI can't do this on machines
// without access to Prisma's binary host; Prisma 6 with `engine: 'js'` (see prisma.config.ts) can.
//
// Our schema is written for Prisma 7 (generator "prisma-client", datasource without url), so a converted copy is
// written to a temp dir: generator blocks become one "prisma-client-js" generator (previewFeatures kept), and the
// datasource's url-like settings are replaced by a dummy url (the connection comes from the adapter). Error messages
// name the original file, with the original line numbers.
// Connects to SCHEMA_DIFF_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres); writes nothing there.
// Exit status: 0 with the SQL on stdout; otherwise non-zero with Prisma's output on stderr.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function fail(message, status = 1) {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  process.exit(status);
}

/**
 * Rewrites a Prisma 7 schema into one Prisma 6's CLI accepts. Models and enums are left byte for byte and on the same
 * line numbers (so Prisma's error messages point at the right line of the original): the generator and datasource
 * blocks are blanked out where they stand and their Prisma 6 versions appended at the end.
 */
export function toPrisma6Schema(source) {
  const block = /^[ \t]*(generator|datasource)[ \t]+(\w+)[ \t]*\{([^}]*)\}/gm;
  const previewFeatures = new Set();
  const datasources = [];
  const blanked = source.replace(block, (match, kind, name, body) => {
    const lines = body.split(/\r?\n/);
    if (kind === 'generator') {
      for (const line of lines) {
        const m = /^\s*previewFeatures\s*=\s*\[(.*)\]/.exec(line);
        if (m) for (const f of m[1].matchAll(/"([^"]+)"/g)) previewFeatures.add(f[1]);
      }
    } else {
      const kept = lines.filter(
        (l) => l.trim() !== '' && !/^\s*(url|directUrl|shadowDatabaseUrl)\s*=/.test(l),
      );
      datasources.push(
        `datasource ${name} {\n${kept.join('\n')}\n  url = "postgresql://unused@localhost/unused"\n}\n`,
      );
    }
    return match.replace(/[^\n]/g, '');
  });
  if (datasources.length !== 1)
    throw new Error(`expected exactly one datasource block, found ${datasources.length}`);
  const features = [...previewFeatures].map((f) => JSON.stringify(f)).join(', ');
  const generator =
    `generator client {\n  provider = "prisma-client-js"\n` +
    (features ? `  previewFeatures = [${features}]\n` : '') +
    `}\n`;
  return `${blanked}\n\n// Added by tools/schema-diff/schema-to-sql.mjs\n${generator}\n${datasources[0]}`;
}

function main() {
  const [schemaArg] = process.argv.slice(2);
  if (!schemaArg) fail('usage: node tools/schema-diff/schema-to-sql.mjs <path to schema.prisma>', 2);
  const schemaPath = resolve(schemaArg);
  if (!existsSync(schemaPath)) fail(`schema not found: ${schemaPath}`, 2);

  // Only this folder's own node_modules: Node's resolution would walk up to the root project's Prisma 7.
  const cli = join(here, 'node_modules', 'prisma', 'build', 'index.js');
  for (const pkg of ['prisma', '@prisma/adapter-pg']) {
    const manifest = join(here, 'node_modules', pkg, 'package.json');
    const version = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')).version : undefined;
    if (!version?.startsWith('6.')) {
      fail(
        `${pkg}@6 is not installed in ${here} (found ${version ?? 'nothing'}): ` +
          'run `node scripts/ensure-tools.mjs` (or `npm ci --prefix tools/schema-diff`)',
      );
    }
  }

  let converted;
  try {
    converted = toPrisma6Schema(readFileSync(schemaPath, 'utf8'));
  } catch (err) {
    fail(`cannot convert ${schemaPath}: ${err.message}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tern-schema-diff-'));
  let r;
  try {
    const tmpSchema = join(dir, 'schema.prisma');
    writeFileSync(tmpSchema, converted);
    r = spawnSync(
      process.execPath,
      [
        cli,
        'migrate',
        'diff',
        '--config',
        join(here, 'prisma.config.ts'),
        '--from-empty',
        '--to-schema-datamodel',
        tmpSchema,
        '--script',
      ],
      {
        cwd: here,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        timeout: 120_000,
        env: {
          ...process.env,
          // Neither engine is used by `migrate diff` with engine "js", but the CLI insists one exists (or downloads it).
          PRISMA_QUERY_ENGINE_LIBRARY: '/bin/true',
          PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true',
          CHECKPOINT_DISABLE: '1',
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
        },
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const output = `${r.stderr ?? ''}${r.stdout ?? ''}`.replaceAll(join(dir, 'schema.prisma'), schemaPath);
  if (r.error) fail(`prisma migrate diff could not run: ${r.error.message}\n${output}`);
  if (r.status !== 0) fail(`prisma migrate diff failed (exit ${r.status}):\n${output}`, r.status ?? 1);
  // With a stub schema engine Prisma prints nothing and exits 0: never pass that off as "the schema is empty".
  if (!/\bCREATE\b/i.test(r.stdout)) fail(`prisma migrate diff printed no SQL:\n${output}`);
  process.stdout.write(r.stdout);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
