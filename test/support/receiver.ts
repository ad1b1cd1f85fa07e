import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A real HTTP receiver on 127.0.0.1 with a scripted reply per request (by default 200). `hang` never answers
 * (the socket is destroyed on close).
 */
export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  private script: ((req: ReceivedRequest, res: ServerResponse) => void)[] = [];
  private fallback: (req: ReceivedRequest, res: ServerResponse) => void = (_q, res) => res.end('ok');
  private readonly sockets = new Set<import('node:net').Socket>();
  private readonly hanging: ServerResponse[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<TestReceiver> {
    const server = createServer();
    const r = new TestReceiver(server);
    server.on('connection', (s) => {
      r.sockets.add(s);
      s.on('close', () => r.sockets.delete(s));
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec = {
          at: Date.now(),
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        r.requests.push(rec);
        const step = r.script.shift() ?? r.fallback;
        if (step === HANG) r.hanging.push(res);
        step(rec, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Replies for the next requests, in order: a status code, or a function. */
  reply(
    ...steps: (number | { status: number; headers?: Record<string, string>; body?: string } | 'hang')[]
  ): this {
    for (const s of steps) this.script.push(toHandler(s));
    return this;
  }

  always(step: number | { status: number; headers?: Record<string, string>; body?: string } | 'hang'): this {
    this.fallback = toHandler(step);
    return this;
  }

  /** Answers every request left hanging so far. */
  answerHanging(status: number): void {
    for (const res of this.hanging.splice(0)) {
      res.writeHead(status);
      res.end();
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const HANG = (_req: ReceivedRequest, _res: ServerResponse): void => undefined;

function toHandler(s: number | { status: number; headers?: Record<string, string>; body?: string } | 'hang') {
  if (s === 'hang') return HANG;
  return (_req: ReceivedRequest, res: ServerResponse) => {
    const spec = typeof s === 'number' ? { status: s } : s;
    res.writeHead(spec.status, spec.headers ?? {});
    res.end(spec.body ?? '');
  };
}

/** The receivers a test file starts, closed together: call closeAll() from `after`. */
export class TestReceivers {
  private readonly started: TestReceiver[] = [];

  async start(): Promise<TestReceiver> {
    const r = await TestReceiver.start();
    this.started.push(r);
    return r;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.started.map((r) => r.close()));
  }
}
