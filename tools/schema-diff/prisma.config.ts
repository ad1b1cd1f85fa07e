// Prisma 6 config for schema-to-sql.mjs only. `engine: 'js'` makes `prisma migrate diff` use the WASM schema engine
// through a driver adapter, so nothing is downloaded. `--from-empty --to-schema-datamodel` still opens a connection
// (any reachable Postgres will do; nothing is written); allowExitOnIdle lets the CLI exit as soon as it is done
// instead of waiting out the pool's 10 s idle timeout.
import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';

const url = process.env.SCHEMA_DIFF_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  async adapter() {
    return new PrismaPg({ connectionString: url, allowExitOnIdle: true });
  },
} as any);
