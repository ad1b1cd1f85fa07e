import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AppConfig } from '@tern/config';
import { TestStack } from './support/stack';

const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('lists every environment variable AppConfig reads, with its default', () => {
    const config = new AppConfig();
    for (const [name, value] of Object.entries(config)) {
      const row = README.split('\n').find((l) => l.startsWith(`| \`${name}\``));
      assert.ok(row, `README has no row for ${name}`);
      if (value !== '')
        assert.ok(
          row.includes(`\`${String(value)}\``),
          `README row for ${name} lacks default ${String(value)}`,
        );
    }
  });

  it('quickstart runs word for word and ends in a delivered, verified webhook', async () => {
    const block = /## Quickstart[\s\S]*?```bash\n([\s\S]*?)```/.exec(README)?.[1];
    assert.ok(block, 'no quickstart block');
    const stack = await TestStack.start('readme');
    cleanups.push(() => stack.stop());
    const port = 41000 + Math.floor(Math.random() * 2000);
    // Only the addresses change: the API's test port and a free receiver port; `.env` is replaced by the test env.
    const script = block
      .replace('TERN=http://127.0.0.1:3000', `TERN=${stack.api.baseUrl}`)
      .replace(
        'set -a; . ./.env; set +a',
        `export ADMIN_API_KEY=${stack.env.ADMIN_API_KEY ?? process.env.ADMIN_API_KEY}`,
      )
      .replaceAll('4000', String(port));
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      // Own process group, killed as a whole afterwards: nothing the script started may outlive it.
      const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: ROOT,
        env: process.env,
        detached: true,
      });
      cleanups.push(async () => {
        try {
          process.kill(-(child.pid ?? 0), 'SIGKILL');
        } catch {
          /* already gone */
        }
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(out.code, 0, `quickstart failed:\n${out.stdout}\n${out.stderr}`);
    assert.match(out.stdout, /webhook-id=evt_[0-9a-f]{28} signature OK/);
    const attemptsLine = out.stdout.split('\n').find((l) => l.startsWith('{"data":'));
    assert.ok(attemptsLine, `no attempts listing in:\n${out.stdout}`);
    const attempts = JSON.parse(attemptsLine) as { data: { outcome: string; responseStatus: number }[] };
    assert.deepEqual(
      attempts.data.map((a) => [a.outcome, a.responseStatus]),
      [['succeeded', 204]],
    );
    const last = out.stdout.trim().split('\n').pop() ?? '';
    const event = JSON.parse(last) as { deliveries: { status: string }[] };
    assert.equal(event.deliveries.length, 1);
    assert.equal(event.deliveries[0].status, 'succeeded');
  });
});
