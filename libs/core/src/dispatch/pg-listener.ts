import { Client } from 'pg';

/**
 * A dedicated Postgres connection for LISTEN (NOTIFY arrives only on commit). Reconnects with backoff; while it
 * is down, callers rely on their polling fallback.
 */
export class PgListener {
  private client: Client | null = null;
  private stopped = false;
  private retryMs = 500;

  constructor(
    private readonly databaseUrl: string,
    private readonly channels: string[],
    private readonly onNotify: (channel: string, payload: string) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.databaseUrl });
    client.on('notification', (n) => this.onNotify(n.channel, n.payload ?? ''));
    client.on('error', (err) => {
      this.onError(err);
      this.reconnectLater(client);
    });
    client.on('end', () => this.reconnectLater(client));
    try {
      await client.connect();
      for (const ch of this.channels) await client.query(`LISTEN "${ch}"`);
      this.client = client;
      this.retryMs = 500;
    } catch (err) {
      this.onError(err as Error);
      this.reconnectLater(client);
    }
  }

  private reconnectLater(client: Client): void {
    if (this.stopped || (this.client !== client && this.client !== null)) return;
    this.client = null;
    void client.end().catch(() => undefined);
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
    setTimeout(() => void this.connect(), wait).unref();
  }
}
