/**
 * Helpers shared by bench/bench.ts and its child processes (sink, open-loop sender, raw sender): clocks,
 * percentiles, /proc CPU accounting and a tiny request/reply over the IPC channel.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Wall-clock milliseconds with sub-millisecond resolution; comparable across processes on one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

export interface Summary {
  count: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

/** Nearest-rank percentile of an ascending array (Infinity allowed: a value that never came). */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** count/mean/p50/p90/p99/max, rounded to 0.1 ms; Infinity (missing) values count in the percentiles. */
export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const finite = sorted.filter(Number.isFinite);
  const r = (v: number | null) => (v === null ? null : Number.isFinite(v) ? Math.round(v * 10) / 10 : v);
  return {
    count: sorted.length,
    mean: finite.length ? r(finite.reduce((s, v) => s + v, 0) / finite.length) : null,
    p50: r(percentile(sorted, 50)),
    p90: r(percentile(sorted, 90)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted.length ? sorted[sorted.length - 1] : null),
  };
}

// ---- CPU accounting from /proc (Linux) ------------------------------------------------------------------------

let clkTck = 0;
function ticksPerSecond(): number {
  if (clkTck) return clkTck;
  try {
    clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    clkTck = 100;
  }
  return clkTck;
}

/** User + system CPU milliseconds used so far by `pid`, or null if it is gone. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command start at field 3 (state); utime and stime are fields 14 and 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** Busy and total CPU milliseconds of the whole machine (all cores) so far. */
export function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((s, x) => s + x, 0);
  const idle = v[3] + v[4];
  const k = 1000 / ticksPerSecond();
  return { busy: (total - idle) * k, total: total * k };
}

/** Postgres server processes that are not client backends (WAL writer, checkpointer, autovacuum, …). */
export function postgresBackgroundPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (
        /^postgres: .*(walwriter|checkpointer|background writer|autovacuum|logical replication|stats)/.test(
          cmd,
        )
      ) {
        out.push(Number(name));
      }
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Follows the CPU time of labelled processes. `sample()` reads /proc for every tracked pid and keeps the last
 * value, so a process that exits loses at most one sampling interval.
 */
export class CpuTracker {
  private readonly pids = new Map<number, string>();
  private readonly last = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;

  track(label: string, pid: number | undefined): void {
    if (!pid || this.pids.has(pid)) return;
    this.pids.set(pid, label);
    const v = processCpuMs(pid);
    if (v !== null) this.last.set(pid, v);
  }

  sample(): void {
    for (const pid of this.pids.keys()) {
      const v = processCpuMs(pid);
      if (v !== null) this.last.set(pid, v);
    }
  }

  start(everyMs: number, extra: () => void): void {
    this.timer = setInterval(() => {
      extra();
      this.sample();
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  snapshot(): CpuSnapshot {
    this.sample();
    return { at: wallNow(), machine: machineCpuMs(), perPid: new Map(this.last), labels: new Map(this.pids) };
  }
}

export interface CpuSnapshot {
  at: number;
  machine: { busy: number; total: number };
  perPid: Map<number, number>;
  labels: Map<number, string>;
}

/** CPU milliseconds the processes labelled `label` used between two snapshots. */
export function cpuMsOf(a: CpuSnapshot, b: CpuSnapshot, label: string): number {
  let ms = 0;
  for (const [pid, end] of b.perPid) if (b.labels.get(pid) === label) ms += end - (a.perPid.get(pid) ?? 0);
  return ms;
}

/** Average cores used per label between two snapshots, plus the machine total and the unattributed rest. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): Record<string, number> {
  const wall = b.at - a.at;
  const byLabel: Record<string, number> = {};
  for (const [pid, end] of b.perPid) {
    const label = b.labels.get(pid) ?? '?';
    const used = end - (a.perPid.get(pid) ?? 0);
    byLabel[label] = (byLabel[label] ?? 0) + used;
  }
  const out: Record<string, number> = {};
  let attributed = 0;
  for (const [label, ms] of Object.entries(byLabel)) {
    out[label] = Math.round((ms / wall) * 100) / 100;
    attributed += ms;
  }
  const machineBusy = b.machine.busy - a.machine.busy;
  const cores = (b.machine.total - a.machine.total) / wall;
  out.machine = Math.round((machineBusy / wall) * 100) / 100;
  out.other = Math.round(((machineBusy - attributed) / wall) * 100) / 100;
  out.cores = Math.round(cores * 10) / 10;
  return out;
}

// ---- request/reply over a child's IPC channel -----------------------------------------------------------------

let nextRpcId = 1;

/** Sends `msg` with a fresh `rpcId` and resolves with the first reply carrying the same id. */
export function rpc<T>(child: ChildProcess, msg: Record<string, unknown>, timeoutMs: number): Promise<T> {
  const rpcId = nextRpcId++;
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      const reply = m as { rpcId?: number; error?: string };
      if (reply?.rpcId !== rpcId) return;
      done();
      if (reply.error) reject(new Error(reply.error));
      else resolve(m as T);
    };
    const onExit = () => {
      done();
      reject(new Error(`child ${child.pid} exited before answering ${String(msg.type)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`child ${child.pid} did not answer ${String(msg.type)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    if (!child.connected) {
      done();
      reject(new Error(`child ${child.pid} is gone (${String(msg.type)})`));
      return;
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ ...msg, rpcId }, (err) => {
      if (!err) return;
      done();
      reject(err);
    });
  });
}

/** In a child: answer each rpc message with `handler`'s result (or its error), and exit when the parent goes. */
export function serveRpc(handler: (msg: { type: string } & Record<string, any>) => Promise<unknown>): void {
  process.on('message', (m: { type: string; rpcId: number } & Record<string, any>) => {
    handler(m).then(
      (result) => process.send?.({ ...(result as object), rpcId: m.rpcId }),
      (err: unknown) =>
        process.send?.({ rpcId: m.rpcId, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
