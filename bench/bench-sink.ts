/**
 * Webhook receivers for bench/bench.ts, run as a separate child process (forked, IPC):
 *  - the sink: a Node http server on 127.0.0.1 that answers 204 as soon as the request body has been read, and
 *    records, per label (the first path segment after /h/), how many requests came and the first arrival time of
 *    each `webhook-id`;
 *  - the blackhole: a TCP server on 127.0.0.1 that accepts connections, reads everything and never answers. It
 *    counts open requests (connections that have sent bytes and are not closed: the worker's undici agent sends at
 *    most one request per connection, so this is the number of requests waiting at the black hole) and the most
 *    seen at once since the last `{type: 'blackholeReset'}`.
 * Stats are fetched over IPC (`{type: 'stats', label, arrivals}`), so the parent adds no HTTP load to measure.
 */
import { createServer as createHttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, Socket } from 'node:net';
import { once } from 'node:events';
import { serveRpc, wallNow } from './bench-util';

export interface SinkStats {
  label: string;
  requests: number;
  unique: number;
  duplicates: number;
  /** Arrival time (wallNow) of the first and the last request of this label. */
  firstAt: number | null;
  lastAt: number | null;
  /** [webhook-id, first arrival] when asked for. */
  arrivals?: [string, number][];
}

export interface BlackholeStats {
  connections: number;
  open: number;
  bytes: number;
  /** Connections that sent a request (bytes), ever. */
  requests: number;
  /** Connections that have sent a request and are still open. */
  openRequests: number;
  /** The most `openRequests` seen at once since the sink started or the last reset. */
  maxOpenRequests: number;
}

class Label {
  requests = 0;
  duplicates = 0;
  firstAt: number | null = null;
  lastAt: number | null = null;
  readonly arrivals = new Map<string, number>();
}

const labels = new Map<string, Label>();
const blackhole: BlackholeStats = {
  connections: 0,
  open: 0,
  bytes: 0,
  requests: 0,
  openRequests: 0,
  maxOpenRequests: 0,
};
const sockets = new Set<Socket>();

function labelFor(url: string | undefined): string {
  const m = /^\/h\/([^/?]+)/.exec(url ?? '');
  return m ? m[1] : 'other';
}

const sink = createHttpServer({ keepAliveTimeout: 60_000 }, (req: IncomingMessage, res: ServerResponse) => {
  const at = wallNow();
  const name = labelFor(req.url);
  let l = labels.get(name);
  if (!l) labels.set(name, (l = new Label()));
  l.requests++;
  l.firstAt ??= at;
  l.lastAt = at;
  const id = req.headers['webhook-id'];
  if (typeof id === 'string') {
    if (l.arrivals.has(id)) l.duplicates++;
    else l.arrivals.set(id, at);
  }
  req.resume();
  req.on('end', () => {
    res.writeHead(204);
    res.end();
  });
});
sink.headersTimeout = 60_000;

const hole = createTcpServer((socket) => {
  blackhole.connections++;
  blackhole.open++;
  sockets.add(socket);
  let requested = false;
  socket.on('data', (chunk: Buffer) => {
    blackhole.bytes += chunk.length;
    if (requested) return;
    requested = true;
    blackhole.requests++;
    blackhole.openRequests++;
    blackhole.maxOpenRequests = Math.max(blackhole.maxOpenRequests, blackhole.openRequests);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    blackhole.open--;
    if (requested) blackhole.openRequests--;
    sockets.delete(socket);
  });
});

function statsOf(name: string, withArrivals: boolean): SinkStats {
  const l = labels.get(name) ?? new Label();
  return {
    label: name,
    requests: l.requests,
    unique: l.arrivals.size,
    duplicates: l.duplicates,
    firstAt: l.firstAt,
    lastAt: l.lastAt,
    ...(withArrivals ? { arrivals: [...l.arrivals] } : {}),
  };
}

async function main(): Promise<void> {
  sink.listen(0, '127.0.0.1');
  hole.listen(0, '127.0.0.1');
  await Promise.all([once(sink, 'listening'), once(hole, 'listening')]);
  const port = (sink.address() as { port: number }).port;
  const blackholePort = (hole.address() as { port: number }).port;
  serveRpc(async (msg) => {
    switch (msg.type) {
      case 'ports':
        return { port, blackholePort };
      case 'stats':
        return { stats: statsOf(String(msg.label), Boolean(msg.arrivals)), blackhole };
      case 'blackholeReset':
        blackhole.maxOpenRequests = blackhole.openRequests;
        return { blackhole };
      case 'close':
        for (const s of sockets) s.destroy();
        sink.closeAllConnections();
        sink.close();
        hole.close();
        setTimeout(() => process.exit(0), 50);
        return {};
      default:
        throw new Error(`unknown message ${msg.type}`);
    }
  });
  process.send?.({ type: 'ready' });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
