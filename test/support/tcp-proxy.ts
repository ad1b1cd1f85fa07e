import { createServer, connect, Server, Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of Postgres or Redis, for fault injection: `stall()` stops forwarding bytes (both
 * ways, connections stay open, like a network partition), `resume()` lets them through again, `cut()` drops every
 * connection and refuses new ones until `restore()`.
 */
export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  private refusing = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const holder: { proxy?: TcpProxy } = {};
    const server = createServer((client) => {
      if (holder.proxy) holder.proxy.accept(client);
      else client.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    holder.proxy = new TcpProxy(server, (server.address() as { port: number }).port, target);
    return holder.proxy;
  }

  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    if (!this.stalled) this.connectPair(pair);
  }

  /** Forwards both ways. Piping twice would duplicate every byte: only ever pipe an unpiped pair. */
  private connectPair([a, b]: [Socket, Socket]): void {
    a.pipe(b);
    b.pipe(a);
    a.resume();
    b.resume();
  }

  stall(): void {
    this.stalled = true;
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
  }

  resume(): void {
    if (!this.stalled) return;
    this.stalled = false;
    for (const pair of this.pairs) this.connectPair(pair);
  }

  cut(): void {
    this.refusing = true;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  restore(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
