/**
 * Where a process spent its CPU: reads a V8 .cpuprofile (node --cpu-prof, e.g. from `BENCH_CPU_PROF=worker npm
 * run bench`) and prints self time grouped by area (npm package, Node internals, Tern code, GC, idle) and the
 * top functions by self time.
 *
 * Run: node dist/bench/cpu-profile-summary.js artifacts/prof-<stamp>/worker-<pid>.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The area a frame belongs to: an npm package, node:internal, Tern's own code, or a V8 pseudo-frame. */
export function areaOf(url: string, fn: string): string {
  if (!url) {
    if (fn === '(idle)') return '(idle)';
    if (fn === '(garbage collector)') return '(gc)';
    if (fn === '(program)') return '(program)';
    return `(native) ${fn}`;
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node:${parts[0] === 'internal' ? parts.slice(0, 2).join('/') : parts[0]}`;
  }
  const tern = /\/dist\/((?:apps|libs)\/[^/]+\/src\/(?:[^/]+\/)?)/.exec(url);
  if (tern) return `tern ${tern[1]}`;
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((s, v) => s + v, 0);
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)');
  const idleUs = idle.reduce((s, [, v]) => s + v, 0);
  const busy = total - idleUs;
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const area = areaOf(url, functionName);
    if (area === '(idle)') continue;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const key = `${functionName || '(anonymous)'}  ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  // Native and node: frames (writev, Hmac, streams…) charged to the nearest package or Tern frame, and inclusive
  // time: the share of samples with an area anywhere on the stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const charged = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName === '(idle)') continue;
    let area = areaOf(n.callFrame.url, n.callFrame.functionName);
    const seen = new Set<string>();
    let cur: number | undefined = id;
    let chargedTo: string | null = null;
    while (cur !== undefined) {
      const f = byId.get(cur)!.callFrame;
      if (f.url) {
        const a = areaOf(f.url, f.functionName);
        seen.add(a);
        if (!a.startsWith('node:')) chargedTo ??= a;
      }
      cur = parent.get(cur);
    }
    if (chargedTo) area = chargedTo;
    charged.set(area, (charged.get(area) ?? 0) + us);
    for (const a of seen) inclusive.set(a, (inclusive.get(a) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)} %`;
  const lines = [
    `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s on the main thread (not idle)`,
    '',
    'self time by area (share of non-idle main-thread time):',
    ...[...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 30)
      .map(([a, us]) => `  ${pct(us)}  ${a}`),
    '',
    'self time, native and node: frames charged to the nearest package or Tern caller:',
    ...[...charged]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([a, us]) => `  ${pct(us)}  ${a}`),
    '',
    'inclusive (area anywhere on the stack; areas overlap):',
    ...[...inclusive]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([a, us]) => `  ${pct(us)}  ${a}`),
    '',
    `top ${top} functions by self time:`,
    ...[...fns]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([f, us]) => `  ${pct(us)}  ${f}`),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/bench/cpu-profile-summary.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarizeProfile(file, top ? Number(top) : 25));
}
