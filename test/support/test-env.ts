/** The environment every end-to-end test runs with. Postgres database tern_test; Redis keys under a per-file prefix. */
export const TEST_ENV = {
  NODE_ENV: 'test',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tern_test',
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  ADMIN_API_KEY: 'test-admin-key-0123456789abcdef-0123',
  SECRETS_ENCRYPTION_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
  SSRF_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
  MIGRATE_ON_START: 'false',
  // No worker metrics server unless a test asks for one (parallel test files would fight over the port).
  WORKER_METRICS_PORT: '0',
};

export function applyTestEnv(overrides: Record<string, string> = {}): void {
  Object.assign(process.env, TEST_ENV, overrides);
}
