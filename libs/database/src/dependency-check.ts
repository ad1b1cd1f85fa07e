import { Redis } from 'ioredis';
import { Client } from 'pg';

/** Plain-words explanation when Postgres or Redis can't be reached, instead of a stack trace. */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: 'PostgreSQL' | 'Redis',
    readonly url: string,
    cause: unknown,
  ) {
    const how =
      dependency === 'PostgreSQL'
        ? 'start it with `docker compose up -d postgres`, or on Debian ' +
          '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set DATABASE_URL'
        : 'start it with `docker compose up -d redis`, or `redis-server --daemonize yes`, or set REDIS_URL';
    super(`${dependency} is not reachable at ${redact(url)} (${describe(cause)}): ${how}.`);
    this.name = 'DependencyUnavailableError';
  }
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function describe(cause: unknown): string {
  const e = cause as { code?: string; message?: string; errors?: { code?: string }[] };
  return e?.code ?? e?.errors?.[0]?.code ?? e?.message ?? String(cause);
}

export async function checkPostgres(databaseUrl: string, timeoutMs = 5000): Promise<void> {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString(), connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new DependencyUnavailableError('PostgreSQL', databaseUrl, err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function checkRedis(redisUrl: string, timeoutMs = 5000): Promise<void> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new DependencyUnavailableError('Redis', redisUrl, err);
  } finally {
    redis.disconnect();
  }
}
