import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/free-port';

/** The newest installed PostgreSQL server's bin directory (Debian: /usr/lib/postgresql/<major>/bin), or pg_config's. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors.length) return join(root, majors[0], 'bin');
  }
  const fromConfig = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  if (existsSync(join(fromConfig, 'pg_ctl'))) return fromConfig;
  throw new Error(
    'no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and pg_config --bindir)',
  );
}

/**
 * A throw-away PostgreSQL cluster: initdb into a temp dir, started on a free loopback port with trust auth and
 * fsync off. initdb and the server refuse to run as root, so as root they run as the `postgres` user.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  static async create(): Promise<PrivatePostgres> {
    const bin = postgresBinDir();
    const dir = mkdtempSync('/tmp/tern-chaos-pg-');
    const asRoot = userInfo().uid === 0;
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
    }
    chmodSync(dir, 0o700);
    const pg = new PrivatePostgres(dir, await freePort(), bin);
    await pg.run('initdb', [
      '-D',
      join(dir, 'data'),
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    await pg.start();
    return pg;
  }

  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/tern_chaos`;
  }

  /** Runs a server tool (as `postgres` when we are root); async, so the caller's event loop keeps running. */
  private async run(tool: string, args: string[]): Promise<void> {
    const cmd = join(this.bin, tool);
    const asRoot = userInfo().uid === 0;
    await promisify(execFile)(
      asRoot ? 'runuser' : cmd,
      asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args,
      {
        cwd: this.dir,
      },
    );
  }

  async start(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    await this.run('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-o',
      opts,
      '-w',
      'start',
    ]);
  }

  /** `pg_ctl stop -m fast`: sessions are terminated (57P01), the server shuts down cleanly. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
  }

  /** Stops the server (if running) and deletes the cluster. */
  async destroy(): Promise<void> {
    try {
      await this.stop('immediate');
    } catch {
      /* not running */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
