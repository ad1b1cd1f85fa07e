// `npm start`: runs the API and the worker (built in dist/) as two child processes with .env loaded.
// API_PROCESSES / WORKER_PROCESSES (default 1 each) run more of either against the same Postgres and Redis.
// SIGINT/SIGTERM are passed on; exits when all children have exited. When every child reports ready (over IPC, see
// libs/observability/src/ready-signal.ts), prints a banner: where the API, its docs and the dashboard are.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadDotEnv } from './env-file.mjs';

const require = createRequire(import.meta.url);
const { READY_MESSAGE_TYPE } = require('../dist/libs/observability/src/ready-signal.js');
const keySetOutside = process.env.ADMIN_API_KEY !== undefined;
loadDotEnv();
const apiCount = Number(process.env.API_PROCESSES ?? 1);
const workerCount = Number(process.env.WORKER_PROCESSES ?? 1);
const basePort = Number(process.env.PORT ?? 3000);
// Each worker gets its own metrics port, counting up from WORKER_METRICS_PORT (0 = none).
const baseMetricsPort = Number(process.env.WORKER_METRICS_PORT ?? 9464);
const children = [];
const ready = new Map(); // name → the child's ready message
function start(name, file, env) {
  const child = spawn(process.execPath, ['--enable-source-maps', file], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  child.on('message', (message) => {
    if (message?.type !== READY_MESSAGE_TYPE || stopping) return;
    ready.set(name, message);
    if (ready.size === apiCount + workerCount) printBanner();
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
function printBanner() {
  const entries = [...ready.entries()];
  const apis = entries.filter(([, m]) => m.role === 'api').map(([, m]) => m.url);
  const workers = entries
    .filter(([, m]) => m.role === 'worker')
    .map(([name, m]) => `${name} (pid ${m.pid}, concurrency ${m.concurrency})`);
  const keyFrom = keySetOutside ? 'as set in your environment' : 'from .env';
  const rows = [
    ['API', apis.join(', ')],
    ['API docs', `${apis[0]}/docs`],
    ['Dashboard', `${apis[0]}/dashboard  (sign in with ADMIN_API_KEY, ${keyFrom})`],
    [workers.length === 1 ? 'Worker' : 'Workers', workers.length ? `running: ${workers.join(', ')}` : 'none'],
  ];
  const lines = [
    'Tern is up',
    ...rows.map(([label, value]) => `  ${label.padEnd(10)} ${value}`),
    'Ctrl+C stops it.',
  ];
  const rule = '─'.repeat(Math.max(...lines.map((l) => l.length)));
  console.log(['', rule, ...lines, rule, ''].join('\n'));
}
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
