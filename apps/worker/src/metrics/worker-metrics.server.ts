import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { metricsAccessAllowed, WorkerMetrics } from '@tern/observability';
import { createServer, Server } from 'node:http';

/**
 * The worker's own HTTP server for Prometheus: GET /metrics on HOST:WORKER_METRICS_PORT (0 = no server), behind
 * METRICS_TOKEN when one is set. Several workers on one host each need their own port. A port already in use is
 * logged and the worker keeps delivering without it.
 */
@Injectable()
export class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerMetricsServer.name);
  private server: Server | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: WorkerMetrics,
  ) {}

  /** The port actually bound (null when not serving). */
  get port(): number | null {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.WORKER_METRICS_PORT;
    if (port === 0) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      if (!metricsAccessAllowed(this.config.METRICS_TOKEN, req.headers.authorization)) {
        res
          .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
          .end('unauthorized\n');
        return;
      }
      this.metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    });
    server.keepAliveTimeout = 65_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.config.HOST, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.server = server;
      this.logger.log(`metrics on http://${this.config.HOST}:${this.port}/metrics`);
    } catch (err) {
      this.logger.error(
        `metrics server not started on ${this.config.HOST}:${port} (${(err as Error).message}); ` +
          'set WORKER_METRICS_PORT to a free port (each worker on a host needs its own), or 0 for none',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
