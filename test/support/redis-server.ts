import { ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './free-port';

/** A private redis-server on a free loopback port (no persistence), for tests that wipe Redis. */
export class PrivateRedis {
  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
  ) {}

  /** On `port` (e.g. the port of a Redis that was killed, to restart it empty), else on a free one. */
  static async start(port?: number): Promise<PrivateRedis> {
    port ??= await freePort();
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    const r = new PrivateRedis(proc, port);
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 100 });
    client.on('error', () => undefined);
    for (let i = 0; i < 50; i++) {
      try {
        await client.connect();
        await client.ping();
        break;
      } catch {
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    client.disconnect();
    if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited (${proc.exitCode})`);
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async command(...args: string[]): Promise<unknown> {
    const c = new Redis({ port: this.port, host: '127.0.0.1' });
    try {
      return await c.call(args[0], ...args.slice(1));
    } finally {
      c.disconnect();
    }
  }

  async stop(): Promise<void> {
    this.proc.kill('SIGKILL');
    await new Promise((r) => this.proc.once('exit', r));
  }
}
