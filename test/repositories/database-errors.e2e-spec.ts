import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AppConfig } from '@tern/config';
import { databaseFailure, PrismaService } from '@tern/database';
import { freePort } from '../support/free-port';
import { createScratchDatabase, sql } from '../support/scratch-db';

/**
 * databaseFailure() on the errors a real Postgres and Prisma 7's pg adapter raise (its unit spec builds them by
 * hand): the SQLSTATE must come through the adapter's typed error, or every classification below turns 'other'.
 */
describe('databaseFailure on real database errors', () => {
  let url: string;
  let drop: () => Promise<void>;
  let prisma: PrismaService;

  before(async () => {
    ({ url, drop } = await createScratchDatabase('db_errors'));
    prisma = new PrismaService({ DATABASE_URL: url, DATABASE_POOL_SIZE: 2 } as AppConfig);
  });
  after(async () => {
    await prisma?.$disconnect();
    await drop?.();
  });

  async function failureOf(run: () => Promise<unknown>) {
    const err = await run().then(
      () => assert.fail('the statement should have failed'),
      (e: unknown) => e,
    );
    return databaseFailure(err);
  }

  it('a unique violation is a statement error with its SQLSTATE', async () => {
    await prisma.$executeRaw`CREATE TABLE IF NOT EXISTS db_errors_unique (k int PRIMARY KEY)`;
    await prisma.$executeRaw`INSERT INTO db_errors_unique VALUES (1)`;
    assert.deepEqual(await failureOf(() => prisma.$executeRaw`INSERT INTO db_errors_unique VALUES (1)`), {
      kind: 'statement',
      sqlState: '23505',
    });
  });

  it('a backend terminated under a running statement (57P01, as a restart does) is unavailable', async () => {
    const running = prisma.$queryRaw`SELECT pg_sleep(5), 'db_errors_victim' AS tag`;
    const failure = failureOf(() => running);
    let terminated = 0;
    for (let i = 0; i < 50 && terminated === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const rows = await sql<{ n: number }>(
        url,
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE query LIKE '%db_errors_victim%' AND pid <> pg_backend_pid()`,
      );
      terminated = rows[0].n;
    }
    assert.equal(terminated, 1, 'the sleeping statement was never seen running');
    assert.deepEqual(await failure, { kind: 'unavailable', sqlState: '57P01' });
  });

  it('a server that does not answer is unavailable', async () => {
    const port = await freePort();
    const nowhere = new PrismaService({
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/nowhere`,
      DATABASE_POOL_SIZE: 1,
    } as AppConfig);
    try {
      const failure = await failureOf(() => nowhere.$queryRaw`SELECT 1`);
      assert.equal(failure.kind, 'unavailable');
    } finally {
      await nowhere.$disconnect().catch(() => undefined);
    }
  });
});
