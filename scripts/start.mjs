// `npm start`: runs the API and the worker (built in dist/) as two child processes with .env loaded.
// API_PROCESSES / WORKER_PROCESSES (default 1 each) run more of either against the same Postgres and Redis.
// SIGINT/SIGTERM are passed on; exits when all children have exited.
import { spawn } from 'node:child_process';
import { loadDotEnv } from './env-file.mjs';

loadDotEnv();
const apiCount = Number(process.env.API_PROCESSES ?? 1);
const workerCount = Number(process.env.WORKER_PROCESSES ?? 1);
const basePort = Number(process.env.PORT ?? 3000);
// Each worker gets its own metrics port, counting up from WORKER_METRICS_PORT (0 = none).
const baseMetricsPort = Number(process.env.WORKER_METRICS_PORT ?? 9464);
const children = [];
function start(name, file, env) {
  const child = spawn(process.execPath, ['--enable-source-maps', file], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  child.on('exit', (code, signal) => {
    console.log(`${name} exited (${signal ?? code})`);
    children.splice(children.indexOf(child), 1);
    if (!stopping) stop('SIGTERM', code ?? 1);
    if (children.length === 0) process.exit(exitCode);
  });
  children.push(child);
}
let stopping = false;
let exitCode = 0;
function stop(signal, code = 0) {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  for (const c of children) c.kill(signal);
}
for (let i = 0; i < apiCount; i++)
  start(`api#${i}`, 'dist/apps/api/src/main.js', { PORT: String(basePort + i) });
for (let i = 0; i < workerCount; i++) {
  start(`worker#${i}`, 'dist/apps/worker/src/main.js', {
    WORKER_METRICS_PORT: String(baseMetricsPort === 0 ? 0 : baseMetricsPort + i),
  });
}
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
