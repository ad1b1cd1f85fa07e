import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_CHAOS, formatReport, runChaos } from './chaos/chaos-run';

/**
 * The short variant of `npm run chaos` (docs/reliability.md): a few hundred events to 20 endpoints through every
 * fault in turn, on a private PostgreSQL cluster and Redis. Every invariant must hold.
 */
describe('fault injection (short run)', () => {
  it('nothing accepted is lost, nothing succeeds twice, every request is on record — under crashes, restarts and stalls', async () => {
    const report = await runChaos({
      ...DEFAULT_CHAOS,
      events: Number(process.env.CHAOS_EVENTS ?? 300),
      batchSize: 10,
      loadMs: 25_000,
      settleTimeoutMs: 90_000,
      // One SIGKILLed worker's results in flight (answered, not yet written) weigh ten times more in 6,000 pairs
      // than in the 60,000 of `npm run chaos`, which holds the 0.2 % target.
      maxDuplicateShare: 0.01,
      log: () => undefined,
    });
    const lines = formatReport(report);
    const failed = report.checks.filter((c) => !c.passed);
    if (failed.length === 0) rmSync(report.logDir, { recursive: true, force: true });
    assert.equal(report.checks.length, 6, lines.join('\n'));
    assert.deepEqual(failed, [], `${lines.join('\n')}\nprocess logs: ${report.logDir}`);
  });
});
