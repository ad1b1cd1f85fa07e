import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  databaseFailure,
  isDatabaseUnavailable,
  isRetryableDatabaseError,
  isStatementError,
} from './database-errors';
import { DriverAdapterError, type Error as DriverError } from '@prisma/driver-adapter-utils';
import { Prisma } from './generated/prisma/client';

/** The shape Prisma 7's pg adapter throws (seen on this machine: docs/reliability.md). */
function adapterError(cause: Record<string, unknown>): Prisma.PrismaClientKnownRequestError {
  return new Prisma.PrismaClientKnownRequestError('Raw query failed', {
    code: 'P2010',
    clientVersion: '7',
    meta: { driverAdapterError: new DriverAdapterError(cause as DriverError) },
  });
}

describe('databaseFailure', () => {
  it('a terminated backend (57P01, Postgres restarting) is unavailable, not a statement error', () => {
    const err = adapterError({ kind: 'postgres', code: '57P01', message: 'terminating connection' });
    assert.deepEqual(databaseFailure(err), { kind: 'unavailable', sqlState: '57P01' });
    assert.equal(isStatementError(err), false);
  });

  it('cannot_connect_now (57P03) and connection exceptions (08006) are unavailable', () => {
    assert.equal(isDatabaseUnavailable(adapterError({ kind: 'postgres', code: '57P03' })), true);
    assert.equal(isDatabaseUnavailable(adapterError({ kind: 'postgres', code: '08006' })), true);
  });

  it('an unreachable server (adapter kind DatabaseNotReachable) is unavailable', () => {
    const err = adapterError({ kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5499 });
    assert.deepEqual(databaseFailure(err), { kind: 'unavailable', sqlState: null });
  });

  it('an error the adapter mapped to a kind of its own keeps its SQLSTATE (originalCode): a statement error', () => {
    const err = adapterError({
      kind: 'UniqueConstraintViolation',
      constraint: { index: 'u_pkey' },
      originalCode: '23505',
      originalMessage: 'duplicate key value violates unique constraint "u_pkey"',
    });
    assert.deepEqual(databaseFailure(err), { kind: 'statement', sqlState: '23505' });
    assert.equal(isStatementError(err), true);
  });

  it('a unique violation is a statement error', () => {
    const err = adapterError({ kind: 'postgres', code: '23505' });
    assert.deepEqual(databaseFailure(err), { kind: 'statement', sqlState: '23505' });
    assert.equal(isDatabaseUnavailable(err), false);
  });

  it("pg's unwrapped 'Connection terminated unexpectedly' (idle pooled connection lost) is unavailable", () => {
    assert.equal(isDatabaseUnavailable(new Error('Connection terminated unexpectedly')), true);
  });

  it('pg socket errors are unavailable; ordinary errors are other', () => {
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), true);
    assert.deepEqual(databaseFailure(new Error('boom')), { kind: 'other' });
    assert.deepEqual(databaseFailure(undefined), { kind: 'other' });
  });

  it('a deadlock (40P01) is a statement error worth retrying; a unique violation is not', () => {
    assert.equal(isRetryableDatabaseError(adapterError({ kind: 'postgres', code: '40P01' })), true);
    assert.equal(isRetryableDatabaseError(adapterError({ kind: 'postgres', code: '57P01' })), true);
    assert.equal(isRetryableDatabaseError(adapterError({ kind: 'postgres', code: '23505' })), false);
  });
});
