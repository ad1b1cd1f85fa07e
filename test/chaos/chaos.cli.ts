import { rmSync } from 'node:fs';
import { DEFAULT_CHAOS, formatReport, runChaos } from './chaos-run';

/**
 * `npm run chaos`: the fault-injection run (docs/reliability.md). CHAOS_EVENTS (default 3000) and CHAOS_SEED
 * change the run; the last line is `N passed, M failed`, and the exit code is 1 if any check failed. Logs of the
 * processes under test are kept (their directory is printed) when a check failed.
 */
async function main(): Promise<void> {
  const events = Number(process.env.CHAOS_EVENTS ?? DEFAULT_CHAOS.events);
  const report = await runChaos({
    ...DEFAULT_CHAOS,
    events,
    seed: process.env.CHAOS_SEED ?? DEFAULT_CHAOS.seed,
    log: (l) => console.log(l),
  });
  for (const line of formatReport(report)) console.log(line);
  const failed = report.checks.some((c) => !c.passed);
  if (failed) console.log(`process logs: ${report.logDir}`);
  else rmSync(report.logDir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error('chaos run failed to run:', err);
  process.exit(2);
});
