import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from 'pg';

// Reads the parts of a Postgres schema that Prisma's schema describes, and compares two databases by them.
// Used by test/schema-drift.e2e-spec.ts (our SQL migrations vs the SQL Prisma derives from schema.prisma).

/**
 * A database's schema as a flat set of named objects, each with a few string properties, e.g.
 *   "column endpoints.event_types" → { type: "text[]", nullable: "yes", default: "ARRAY[]::text[]", ... }
 * Object kinds: table, column, enum, enum value, primary key, index (unique or not, constraint or index), foreign key.
 * Not compared on purpose: column order (ALTER TABLE ADD COLUMN appends; Prisma ignores it), enum label order
 * (Prisma itself appends new labels with ADD VALUE), check/exclusion constraints, functions, triggers, sequences
 * (beyond the column defaults that use them), and the ignored tables' objects.
 */
export type Catalog = Map<string, Record<string, string>>;

export interface CatalogOptions {
  schema?: string;
  ignoreTables?: string[];
}

const FK_ACTIONS: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};
const FK_MATCH: Record<string, string> = { f: 'FULL', p: 'PARTIAL', s: 'SIMPLE' };

/** Spellings Postgres keeps apart but that mean the same (a hand-written `now()` vs Prisma's CURRENT_TIMESTAMP). */
function normalizeDefault(expr: string | null): string {
  if (expr === null) return 'none';
  return expr.replace(/\bnow\(\)/g, 'CURRENT_TIMESTAMP');
}

export async function readCatalog(databaseUrl: string, options: CatalogOptions = {}): Promise<Catalog> {
  const schema = options.schema ?? 'public';
  const ignored = new Set(options.ignoreTables ?? ['_prisma_migrations']);
  const catalog: Catalog = new Map();
  const add = (key: string, props: Record<string, string>) => {
    if (catalog.has(key)) throw new Error(`duplicate catalog object ${key}`);
    catalog.set(key, props);
  };
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = await client.query<{ name: string; kind: string }>(
      `SELECT c.relname AS name, c.relkind AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
      [schema],
    );
    for (const t of tables.rows) {
      if (ignored.has(t.name)) continue;
      add(`table ${t.name}`, { kind: t.kind === 'p' ? 'partitioned table' : 'table' });
    }

    const columns = await client.query<{
      table: string;
      column: string;
      type: string;
      not_null: boolean;
      default: string | null;
      identity: string;
      generated: string;
      collation: string | null;
    }>(
      `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
              a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
              a.attidentity AS identity, a.attgenerated AS generated,
              CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END AS collation
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
      [schema],
    );
    for (const c of columns.rows) {
      if (ignored.has(c.table)) continue;
      const generated = c.generated === 's';
      add(`column ${c.table}.${c.column}`, {
        type: c.type,
        nullable: c.not_null ? 'no' : 'yes',
        default: generated ? 'none' : normalizeDefault(c.default),
        ...(generated ? { generated: c.default ?? '' } : {}),
        ...(c.identity ? { identity: c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT' } : {}),
        ...(c.collation ? { collation: c.collation } : {}),
      });
    }

    const enums = await client.query<{ name: string; label: string }>(
      `SELECT t.typname AS name, e.enumlabel AS label
         FROM pg_type t
         JOIN pg_namespace n ON n.oid = t.typnamespace
         JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE n.nspname = $1`,
      [schema],
    );
    for (const e of enums.rows) {
      if (!catalog.has(`enum ${e.name}`)) add(`enum ${e.name}`, {});
      add(`enum value ${e.name}.'${e.label}'`, {});
    }

    const constraints = await client.query<{
      name: string;
      type: 'p' | 'f';
      table: string;
      columns: string[];
      ref_table: string | null;
      ref_columns: string[];
      on_update: string;
      on_delete: string;
      match: string;
      deferrable: boolean;
      deferred: boolean;
    }>(
      `SELECT con.conname AS name, con.contype AS type, cl.relname AS table,
              ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                     ORDER BY k.ord) AS columns,
              rc.relname AS ref_table,
              ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                     ORDER BY k.ord) AS ref_columns,
              con.confupdtype AS on_update, con.confdeltype AS on_delete, con.confmatchtype AS match,
              con.condeferrable AS deferrable, con.condeferred AS deferred
         FROM pg_constraint con
         JOIN pg_class cl ON cl.oid = con.conrelid
         JOIN pg_namespace n ON n.oid = cl.relnamespace
         LEFT JOIN pg_class rc ON rc.oid = con.confrelid
        WHERE n.nspname = $1 AND con.contype IN ('p', 'f')`,
      [schema],
    );
    for (const c of constraints.rows) {
      if (ignored.has(c.table)) continue;
      if (c.type === 'p') {
        add(`primary key ${c.table}`, { name: c.name, columns: c.columns.join(', ') });
        continue;
      }
      add(`foreign key ${c.table}.${c.name}`, {
        columns: c.columns.join(', '),
        references: `${c.ref_table}(${c.ref_columns.join(', ')})`,
        'on delete': FK_ACTIONS[c.on_delete] ?? c.on_delete,
        'on update': FK_ACTIONS[c.on_update] ?? c.on_update,
        match: FK_MATCH[c.match] ?? c.match,
        deferrable: c.deferrable ? (c.deferred ? 'INITIALLY DEFERRED' : 'INITIALLY IMMEDIATE') : 'no',
      });
    }

    const indexes = await client.query<{
      name: string;
      table: string;
      unique: boolean;
      method: string;
      columns: string[];
      include: string[];
      predicate: string | null;
      nulls_not_distinct: string | null;
      constraint_type: string | null;
    }>(
      `SELECT ic.relname AS name, tc.relname AS table, i.indisunique AS unique, am.amname AS method,
              ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
                           || CASE WHEN oc.opcdefault THEN '' ELSE ' ' || oc.opcname END
                           || CASE WHEN i.indoption[k - 1] & 1 = 1
                                   THEN ' DESC' || CASE WHEN i.indoption[k - 1] & 2 = 2 THEN '' ELSE ' NULLS LAST' END
                                   ELSE CASE WHEN i.indoption[k - 1] & 2 = 2 THEN ' NULLS FIRST' ELSE '' END END
                      FROM generate_series(1, i.indnkeyatts) k
                      LEFT JOIN pg_opclass oc ON oc.oid = i.indclass[k - 1]
                     ORDER BY k) AS columns,
              ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
                      FROM generate_series(i.indnkeyatts + 1, i.indnatts) k ORDER BY k) AS include,
              pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
              to_jsonb(i) ->> 'indnullsnotdistinct' AS nulls_not_distinct,
              con.contype AS constraint_type
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_class tc ON tc.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = tc.relnamespace
         JOIN pg_am am ON am.oid = ic.relam
         LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')
        WHERE n.nspname = $1 AND tc.relkind IN ('r', 'p') AND NOT i.indisprimary`,
      [schema],
    );
    for (const i of indexes.rows) {
      if (ignored.has(i.table)) continue;
      add(`index ${i.table}.${i.name}`, {
        unique: i.unique ? 'yes' : 'no',
        ...(i.constraint_type
          ? { 'backs a constraint': i.constraint_type === 'u' ? 'UNIQUE' : 'EXCLUDE' }
          : {}),
        method: i.method,
        columns: i.columns.join(', '),
        ...(i.include.length ? { include: i.include.join(', ') } : {}),
        ...(i.predicate ? { where: i.predicate } : {}),
        ...(i.nulls_not_distinct === 'true' ? { 'nulls not distinct': 'yes' } : {}),
      });
    }
  } finally {
    await client.end();
  }
  return catalog;
}

/** One difference: an object on one side only (the other side's value undefined), or one property that differs. */
export interface Difference {
  object: string;
  property?: string;
  left?: string;
  right?: string;
}

function describe(props: Record<string, string>): string {
  const parts = Object.entries(props).map(([k, v]) => `${k}: ${v}`);
  return parts.length ? parts.join(', ') : '';
}

export function diffCatalogs(left: Catalog, right: Catalog): Difference[] {
  const out: Difference[] = [];
  const keys = [...new Set([...left.keys(), ...right.keys()])].sort();
  for (const object of keys) {
    const l = left.get(object);
    const r = right.get(object);
    if (!r) out.push({ object, left: describe(l!) });
    else if (!l) out.push({ object, right: describe(r) });
    else {
      for (const property of [...new Set([...Object.keys(l), ...Object.keys(r)])].sort()) {
        if (l[property] !== r[property]) {
          out.push({ object, property, left: l[property] ?? '(not set)', right: r[property] ?? '(not set)' });
        }
      }
    }
  }
  return out;
}

/** One line per difference, e.g. `column endpoints.drift_probe: only in migrations (type: integer, ...)`. */
export function formatDifferences(diffs: Difference[], leftName: string, rightName: string): string {
  const lines = diffs.map((d) => {
    if (d.property !== undefined) {
      return `${d.object}: ${d.property} is ${d.left} in ${leftName} but ${d.right} in ${rightName}`;
    }
    const [side, value] = d.right === undefined ? [leftName, d.left] : [rightName, d.right];
    return `${d.object}: only in ${side}${value ? ` (${value})` : ''}`;
  });
  return `${diffs.length} difference(s) between ${leftName} and ${rightName}:\n  - ${lines.join('\n  - ')}`;
}

/** The repository root (the directory holding prisma/schema.prisma), from src (test/support) or dist. */
export function repoRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'prisma', 'schema.prisma')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no prisma/schema.prisma above ${__dirname}`);
  }
}

/**
 * Every `CREATE [OR REPLACE] FUNCTION ... $tag$ body $tag$ ...;` statement in the given SQL: functions that column
 * defaults call (tern_id) are written by hand in our migrations and Prisma's SQL relies on them existing.
 */
export function extractFunctionDefinitions(sql: string): string[] {
  const re = /CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\b[\s\S]*?(\$[A-Za-z_]*\$)[\s\S]*?\1[^;]*;/gi;
  return [...sql.matchAll(re)].map((m) => m[0]);
}
