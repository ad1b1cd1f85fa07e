import { createHash } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/** How a receiver answers one request. `slow` answers 200 after a pause; `hang` never answers. */
export const FAULT_REPLIES = ['500', '503', '429', 'reset', 'hang', 'slow'] as const;
export type FaultReply = (typeof FAULT_REPLIES)[number];

/** Most failures a (webhook-id, endpoint) pair gets before it is answered 2xx: everything can end `succeeded`. */
export const MAX_FAILURES_PER_PAIR = 2;

/**
 * The seeded plan of one (webhook-id, endpoint) pair: the replies before its first 2xx. Pure: the same seed and
 * pair always get the same plan. About half of the pairs succeed at once.
 */
export function replyPlan(seed: string, webhookId: string, endpoint: string): FaultReply[] {
  const h = createHash('sha1').update(`${seed}|${webhookId}|${endpoint}`).digest();
  const failures = h[0] % 4 < 2 ? 0 : 1 + (h[1] % MAX_FAILURES_PER_PAIR);
  return Array.from({ length: failures }, (_, i) => FAULT_REPLIES[h[2 + i] % FAULT_REPLIES.length]);
}

export interface PairLog {
  requests: number;
  successes: number;
}

/**
 * One loopback HTTP server standing for many endpoints (`/ep/<n>`), answering each (webhook-id, endpoint) pair
 * by its seeded plan, then 2xx. Counts what it saw per pair.
 */
export class ChaosReceiver {
  readonly pairs = new Map<string, PairLog>();
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    private readonly seed: string,
    private readonly hangMs: number,
  ) {}

  static async start(seed: string, hangMs: number): Promise<ChaosReceiver> {
    const server = createServer();
    const r = new ChaosReceiver(server, seed, hangMs);
    server.keepAliveTimeout = 30_000;
    server.on('connection', (s) => {
      r.sockets.add(s);
      s.on('close', () => r.sockets.delete(s));
    });
    server.on('request', (req, res) => r.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  url(endpoint: number): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ep/${endpoint}`;
  }

  static pairKey(webhookId: string, path: string): string {
    return `${webhookId} ${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    req.on('end', () => {
      const webhookId = String(req.headers['webhook-id'] ?? '');
      const path = req.url ?? '';
      const key = ChaosReceiver.pairKey(webhookId, path);
      const log = this.pairs.get(key) ?? { requests: 0, successes: 0 };
      this.pairs.set(key, log);
      const n = log.requests++;
      const reply = replyPlan(this.seed, webhookId, path)[n];
      const ok = (delayMs: number) =>
        setTimeout(() => {
          if (res.destroyed) return;
          res.statusCode = 204;
          res.end();
          log.successes++;
        }, delayMs);
      switch (reply) {
        case undefined:
          return ok(0);
        case 'slow':
          return ok(300);
        case '500':
        case '503':
          res.statusCode = Number(reply);
          return void res.end('chaos');
        case '429':
          res.statusCode = 429;
          res.setHeader('retry-after', '1');
          return void res.end('slow down');
        case 'reset':
          return void req.socket.destroy();
        case 'hang':
          this.hanging.add(res);
          setTimeout(() => {
            this.hanging.delete(res);
            req.socket.destroy();
          }, this.hangMs).unref();
          return;
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
