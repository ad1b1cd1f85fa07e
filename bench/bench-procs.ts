/**
 * Child processes of bench/bench.ts: spawned with a known environment, their output kept (last lines, for error
 * messages), stopped by pid with SIGTERM then SIGKILL after a grace period. Every child ever started is killed
 * (SIGKILL) when the bench process exits, whatever the reason.
 */
import { ChildProcess, fork, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './bench-util';

const all = new Set<Child>();
process.on('exit', () => {
  for (const c of all) c.killNow();
});

export class Child {
  private readonly tail: string[] = [];
  /** Lines that look like errors (pino level ≥ 50, or the word "error"), and the first of them. */
  errorLines = 0;
  firstError: string | null = null;
  readonly exited: Promise<number | null>;
  private readonly lineWaiters: { re: RegExp; resolve: () => void }[] = [];

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    echo: boolean,
  ) {
    all.add(this);
    const onData = (stream: string) => (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (!line.trim()) continue;
        this.tail.push(`${stream}: ${line}`);
        if (/"level":(50|60)/.test(line) || /\berror\b/i.test(line)) {
          this.errorLines++;
          this.firstError ??= line.slice(0, 2000);
        }
        if (this.tail.length > 40) this.tail.shift();
        if (echo) process.stderr.write(`[${this.name}] ${line}\n`);
        for (const w of [...this.lineWaiters]) {
          if (w.re.test(line)) {
            this.lineWaiters.splice(this.lineWaiters.indexOf(w), 1);
            w.resolve();
          }
        }
      }
    };
    // An IPC send to a child that just exited is reported by rpc(); don't let it crash the bench.
    proc.on('error', (err) => this.tail.push(`error: ${err.message}`));
    proc.stdout?.on('data', onData('out'));
    proc.stderr?.on('data', onData('err'));
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        all.delete(this);
        resolve(code ?? (signal ? 128 : null));
      });
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  output(): string {
    return this.tail.join('\n');
  }

  /** Resolves when a line of output matches `re`; rejects if the process exits or `timeoutMs` passes first. */
  async waitForLine(re: RegExp, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => this.lineWaiters.push({ re, resolve })),
        this.exited.then((code) => {
          throw new Error(`${this.name} exited (${code}) before printing ${re}:\n${this.output()}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${this.name}: no ${re} within ${timeoutMs} ms:\n${this.output()}`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for the first IPC message of type `ready`. */
  async waitReady(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) =>
          this.proc.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve()),
        ),
        this.exited.then((code) => {
          throw new Error(`${this.name} exited (${code}) before it was ready:\n${this.output()}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${this.name} not ready within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      this.proc.kill('SIGKILL');
      await Promise.race([this.exited, sleep(2000)]);
    }
  }

  killNow(): void {
    if (this.running) this.proc.kill('SIGKILL');
  }
}

/** `node <script> …` with exactly `env` (no inherited variables besides PATH and HOME). */
export function startNode(
  name: string,
  script: string,
  env: Record<string, string>,
  opts: { ipc?: boolean; nodeArgs?: string[]; echo?: boolean } = {},
): Child {
  const fullEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env };
  const proc = opts.ipc
    ? fork(script, [], {
        env: fullEnv,
        execArgv: opts.nodeArgs ?? [],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      })
    : spawn(process.execPath, [...(opts.nodeArgs ?? []), script], {
        env: fullEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  return new Child(name, proc, opts.echo ?? false);
}

/** Any executable (e.g. a private redis-server) with `args`, only PATH and HOME in its environment. */
export function startProcess(
  name: string,
  file: string,
  args: string[],
  opts: { echo?: boolean } = {},
): Child {
  const proc = spawn(file, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Child(name, proc, opts.echo ?? false);
}

/** The first executable called `name` on PATH (or `name` itself when it contains a slash and exists). */
export function findExecutable(name: string): string | null {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '')
        .split(':')
        .filter(Boolean)
        .map((dir) => join(dir, name));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not there
    }
  }
  return null;
}
