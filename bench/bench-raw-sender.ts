/**
 * The "raw" ceiling for bench/bench.ts, run as a separate child process (forked, IPC): signed webhook POSTs with
 * the worker's own sender (`WebhookSender` from @tern/delivery-http: undici Agent, keep-alive, SSRF-checked
 * connect, total deadline, capped body) and signing (`signatureHeader` from @tern/delivery-rules), as fast as
 * `connections` closed loops can go, for `seconds`. Bodies are pre-built like the worker's (`{"type","timestamp",
 * "data"}` around the same payloads); each request gets its own webhook-id, timestamp and signature.
 * No Postgres, no Redis: this is what the HTTP + signing part alone can do on this machine.
 */
import { WebhookSender } from '@tern/delivery-http';
import { AddressPolicy, signatureHeader } from '@tern/delivery-rules';
import { serveRpc, summarize, Summary, wallNow } from './bench-util';

export interface RawRun {
  url: string;
  secret: string;
  seconds: number;
  connections: number;
  /** Approximate payload size, like the events the worker delivers. */
  payloadBytes: number;
  eventType: string;
}

export interface RawResult {
  requests: number;
  ok: number;
  failed: Record<string, number>;
  durationMs: number;
  perSecond: number;
  latencyMs: Summary;
  cpuMs: number;
}

function bodies(run: RawRun, n: number): string[] {
  const filler = 'x'.repeat(Math.max(0, run.payloadBytes - 120));
  return Array.from({ length: n }, (_, i) => {
    const payload = JSON.stringify({ seq: i, sentAt: Date.now(), order: { id: `o_${i}`, filler } });
    return `{"type":${JSON.stringify(run.eventType)},"timestamp":"${new Date().toISOString()}","data":${payload}}`;
  });
}

async function raw(run: RawRun): Promise<RawResult> {
  const sender = new WebhookSender({
    connectTimeoutMs: 5000,
    attemptTimeoutMs: 15_000,
    maxResponseBodyBytes: 4096,
    policy: AddressPolicy.fromCsv('127.0.0.0/8'),
    userAgent: 'Tern/bench-raw',
    connectionsPerOrigin: run.connections,
  });
  const prebuilt = bodies(run, 1024);
  const failed: Record<string, number> = {};
  const latencies: number[] = [];
  let requests = 0;
  let ok = 0;
  const cpu0 = process.cpuUsage();
  const started = wallNow();
  const end = started + run.seconds * 1000;
  const loop = async (lane: number) => {
    for (let i = 0; wallNow() < end; i++) {
      const n = requests++;
      const id = `msg_raw_${lane}_${i}`;
      const body = prebuilt[n % prebuilt.length];
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader([run.secret], id, timestamp, body),
      };
      const r = await sender.send({ url: run.url, headers, body });
      latencies.push(r.durationMs);
      if (r.statusCode !== undefined && r.statusCode >= 200 && r.statusCode < 300) ok++;
      else {
        const k = r.errorClass ?? `http_${r.statusCode}`;
        failed[k] = (failed[k] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: run.connections }, (_, lane) => loop(lane)));
  const durationMs = wallNow() - started;
  const cpu = process.cpuUsage(cpu0);
  await sender.close();
  return {
    requests,
    ok,
    failed,
    durationMs: Math.round(durationMs),
    perSecond: Math.round((ok / durationMs) * 1000),
    latencyMs: summarize(latencies),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}

serveRpc(async (msg) => {
  if (msg.type !== 'run') throw new Error(`unknown message ${msg.type}`);
  return { result: await raw(msg.run as RawRun) };
});
process.send?.({ type: 'ready' });
