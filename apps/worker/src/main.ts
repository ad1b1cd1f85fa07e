import 'reflect-metadata';
import { preflight, runMain } from '@tern/database';
import { READY_MESSAGE_TYPE, signalReady } from '@tern/observability';
import { createWorkerApp } from './bootstrap';

runMain('tern worker', async () => {
  const config = await preflight();
  const app = await createWorkerApp(config);
  console.log(`tern worker running (concurrency ${config.WORKER_CONCURRENCY}, pid ${process.pid})`);
  signalReady({
    type: READY_MESSAGE_TYPE,
    role: 'worker',
    concurrency: config.WORKER_CONCURRENCY,
    pid: process.pid,
  });

  // SIGTERM/SIGINT: stop claiming, let in-flight attempts finish; after SHUTDOWN_GRACE_MS exit anyway — the
  // unfinished jobs' locks lapse and another worker takes them (the attempt is logged as interrupted).
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`tern worker: ${signal}, draining (at most ${config.SHUTDOWN_GRACE_MS} ms)`);
    setTimeout(() => {
      console.log('tern worker: grace period over, exiting with attempts still in flight');
      process.exit(0);
    }, config.SHUTDOWN_GRACE_MS).unref();
    app
      .close()
      .then(() => process.exit(0))
      .catch((err: Error) => {
        console.error(`tern worker: shutdown error: ${err.message}`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
});
