import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { freePort } from './support/free-port';
import { dropDatabase, scratchDatabaseName, withDatabase } from './support/scratch-db';
import { builtMain } from './support/stack';
import { TEST_ENV } from './support/test-env';

const ROUNDS = 10;
const READY = { api: /tern api listening on/, worker: /tern worker running/ } as const;

/** Starts the compiled API or worker; resolves once it says it is up (then stops it) or when it exits. */
function startAndStop(
  app: 'api' | 'worker',
  env: Record<string, string>,
): Promise<{ up: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtMain(app)], {
      env: { PATH: process.env.PATH ?? '', ...TEST_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let up = false;
    const onData = (d: Buffer) => {
      output += d.toString();
      if (!up && READY[app].test(output)) {
        up = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    // Generous: a loaded 2-core machine starting four Node processes at once.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve({ up, output });
    });
  });
}

describe('first start against a database that does not exist yet', () => {
  it(
    `two APIs and two workers started at once all come up (${ROUNDS} times)`,
    { timeout: 15 * 60_000 },
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const name = scratchDatabaseName();
        const env = {
          DATABASE_URL: withDatabase(TEST_ENV.DATABASE_URL, name),
          MIGRATE_ON_START: 'true',
          QUEUE_PREFIX: `t${name.slice(-12)}`,
        };
        try {
          const [apiA, apiB] = [await freePort(), await freePort()];
          const results = await Promise.all([
            startAndStop('api', { ...env, PORT: String(apiA) }),
            startAndStop('api', { ...env, PORT: String(apiB) }),
            startAndStop('worker', env),
            startAndStop('worker', env),
          ]);
          results.forEach((r, i) =>
            assert.ok(r.up, `round ${round}, process ${i} did not come up:\n${r.output}`),
          );
        } finally {
          await dropDatabase(name);
        }
      }
    },
  );
});
