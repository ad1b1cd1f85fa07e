import { isDriverAdapterError, type Error as DriverError } from '@prisma/driver-adapter-utils';
import { Prisma } from './generated/prisma/client';

/**
 * What went wrong with a database call, read once from the error Prisma throws. Prisma 7 with the pg adapter
 * reports driver failures as `PrismaClientKnownRequestError` carrying the adapter's `DriverAdapterError`. Its typed
 * cause (`@prisma/driver-adapter-utils`, the package the adapter is built on) is an unmapped Postgres error
 * (`kind: 'postgres'`, `code` = SQLSTATE), a kind the adapter mapped the error to with the SQLSTATE in
 * `originalCode` (`UniqueConstraintViolation`…), or a connection-level kind (`DatabaseNotReachable`…). It is
 * recognised with that package's own `isDriverAdapterError`, not by casting Prisma's error shape; everything else
 * asks `databaseFailure()`.
 */
export type DatabaseFailure =
  /** Postgres rejected the statement (constraint, bad value…): it was rolled back; retrying won't help. */
  | { kind: 'statement'; sqlState: string }
  /** The database could not be reached or the connection broke (restart, failover, network): try again later. */
  | { kind: 'unavailable'; sqlState: string | null }
  /** Anything else (not a database error, or an unknown shape). */
  | { kind: 'other' };

/** SQLSTATE classes and codes that mean "the server is going away or not accepting work right now". */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300)/;
/**
 * Prisma's own codes for a database that cannot be reached, closed the connection or timed the pool out; P2028:
 * an interactive transaction could not start in time or ran past its timeout (rolled back either way).
 */
const UNAVAILABLE_PRISMA_CODES = ['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028'];
/** Connection-level kinds of the driver adapter. */
const UNAVAILABLE_ADAPTER_KINDS: readonly DriverError['kind'][] = [
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'DatabaseDoesNotExist',
];
/**
 * pg's own errors for a connection lost under it (they reach callers unwrapped, e.g. an idle pooled connection
 * that the server closed); they carry no code, only these messages.
 */
const PG_CONNECTION_LOST =
  /^(Connection terminated|Client has encountered a connection error|Connection ended)/;
/** Node socket error codes seen when pg's own client (not through Prisma) loses the server. */
const UNAVAILABLE_SOCKET_CODES = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'];

export function databaseFailure(err: unknown): DatabaseFailure {
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    const cause = driverErrorOf(err);
    const sqlState = cause ? sqlStateOf(cause) : null;
    if (
      (cause && UNAVAILABLE_ADAPTER_KINDS.includes(cause.kind)) ||
      UNAVAILABLE_PRISMA_CODES.includes(err.code)
    ) {
      return { kind: 'unavailable', sqlState };
    }
    if (sqlState) {
      return UNAVAILABLE_SQLSTATE.test(sqlState)
        ? { kind: 'unavailable', sqlState }
        : { kind: 'statement', sqlState };
    }
    return { kind: 'other' };
  }
  if (err instanceof Prisma.PrismaClientInitializationError) return { kind: 'unavailable', sqlState: null };
  const e = err as { code?: unknown; message?: unknown } | null;
  if (err instanceof Error && PG_CONNECTION_LOST.test(err.message) && e?.code === undefined) {
    return { kind: 'unavailable', sqlState: null };
  }
  if (typeof e?.code === 'string') {
    if (UNAVAILABLE_SOCKET_CODES.includes(e.code)) return { kind: 'unavailable', sqlState: null };
    if (/^[0-9A-Z]{5}$/.test(e.code) && UNAVAILABLE_SQLSTATE.test(e.code)) {
      return { kind: 'unavailable', sqlState: e.code };
    }
  }
  return { kind: 'other' };
}

/** The driver adapter's error behind a Prisma error, if the adapter raised it. */
function driverErrorOf(err: Prisma.PrismaClientKnownRequestError): DriverError | null {
  const adapterError: unknown = err.meta?.driverAdapterError;
  return adapterError && isDriverAdapterError(adapterError) ? adapterError.cause : null;
}

/**
 * The SQLSTATE behind an adapter error: `code` of an unmapped Postgres error, `originalCode` of one the adapter
 * mapped to a kind of its own (a unique violation is `UniqueConstraintViolation` with originalCode 23505).
 */
function sqlStateOf(cause: DriverError): string | null {
  const code = cause.kind === 'postgres' ? cause.code : cause.originalCode;
  return code && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/** Postgres itself rejected the statement, so it was rolled back (not a lost connection: that may have committed). */
export function isStatementError(err: unknown): boolean {
  return databaseFailure(err).kind === 'statement';
}

/** The database is down, restarting or unreachable: the call may succeed if tried again later. */
export function isDatabaseUnavailable(err: unknown): boolean {
  return databaseFailure(err).kind === 'unavailable';
}

/** Serialization failure or deadlock: Postgres rolled the statement back and asks for it to be run again. */
const RETRY_SQLSTATES = ['40001', '40P01'];

/** Worth running again: the database was unavailable, or the statement lost a deadlock / serialization race. */
export function isRetryableDatabaseError(err: unknown): boolean {
  const f = databaseFailure(err);
  return f.kind === 'unavailable' || (f.kind === 'statement' && RETRY_SQLSTATES.includes(f.sqlState));
}
