/**
 * Which TCP ports deliveries may reach (DELIVERY_ALLOWED_PORTS): a comma-separated list of ports and inclusive
 * ranges, e.g. `80,443,1024-65535` (the default: the web ports and every unprivileged port, so no tenant can make
 * Tern talk to SMTP, SSH or other well-known services on public hosts). Checked when an endpoint is created or
 * updated and again before every attempt.
 */
export const DEFAULT_ALLOWED_PORTS = '80,443,1024-65535';

export class PortPolicy {
  private constructor(
    private readonly ranges: readonly [number, number][],
    /** The list as configured, normalised (for messages). */
    readonly text: string,
  ) {}

  /** Parses the setting; throws with a message naming the bad entry. */
  static parse(csv: string): PortPolicy {
    const entries = csv
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (entries.length === 0) throw new Error('must list at least one port or range');
    const ranges = entries.map((e): [number, number] => {
      const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(e);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m ? Number(m[2] ?? m[1]) : NaN;
      if (!m || lo < 1 || hi > 65535 || lo > hi) {
        throw new Error(`"${e}" is not a port (1-65535) or a range "low-high"`);
      }
      return [lo, hi];
    });
    return new PortPolicy(ranges, entries.join(','));
  }

  allows(port: number): boolean {
    return this.ranges.some(([lo, hi]) => port >= lo && port <= hi);
  }
}

/** The TCP port a URL connects to: its explicit port, else its scheme's (80 for http, 443 for https). */
export function urlPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Null when the URL's port is allowed, else why not (one sentence, no address). */
export function portProblem(url: URL, ports: PortPolicy): string | null {
  const port = urlPort(url);
  return ports.allows(port)
    ? null
    : `port ${port} is not one deliveries may reach (DELIVERY_ALLOWED_PORTS=${ports.text})`;
}
