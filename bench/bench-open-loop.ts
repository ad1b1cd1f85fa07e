/**
 * Open-loop event sender for bench/bench.ts, run as a separate child process (forked, IPC): fires single
 * `POST /v1/events` at a fixed rate for a fixed time, whatever the API's response times (it does not wait for one
 * response before the next send), over an undici Pool of keep-alive connections. Records, per accepted event, the
 * time the request was sent (wallNow) and the event's id and createdAt, so the parent can join them with the
 * sink's arrival times. If more than `maxInFlight` requests are outstanding a send is skipped and counted: the
 * offered rate was then not sustained and the result says so.
 */
import { Pool } from 'undici';
import { serveRpc, summarize, Summary, wallNow } from './bench-util';

export interface OpenLoopRun {
  origin: string;
  key: string;
  /** Event types, used in turn (event n gets eventTypes[n % length]). */
  eventTypes: string[];
  rate: number;
  seconds: number;
  connections: number;
  maxInFlight: number;
  payloadBytes: number;
}

export interface OpenLoopResult {
  scheduled: number;
  sent: number;
  accepted: number;
  skipped: number;
  errors: Record<string, number>;
  durationMs: number;
  /** Accepted events per second over the sending window. */
  achievedRate: number;
  /** How late each send left compared with its slot in the schedule. */
  sendSlipMs: Summary;
  responseMs: Summary;
  /** [event id, sent at (wallNow), createdAt (epoch ms)] per accepted event. */
  samples: [string, number, number][];
  cpuMs: number;
}

async function openLoop(run: OpenLoopRun): Promise<OpenLoopResult> {
  const pool = new Pool(run.origin, {
    connections: run.connections,
    keepAliveTimeout: 30_000,
    headersTimeout: 20_000,
    bodyTimeout: 20_000,
  });
  const headers = { authorization: `Bearer ${run.key}`, 'content-type': 'application/json' };
  const filler = 'x'.repeat(Math.max(0, run.payloadBytes - 120));
  const total = Math.round(run.rate * run.seconds);
  const interval = 1000 / run.rate;
  const samples: [string, number, number][] = [];
  const slips: number[] = [];
  const responses: number[] = [];
  const errors: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let skipped = 0;
  let slot = 0;
  const cpu0 = process.cpuUsage();

  const fire = (seq: number, scheduledAt: number) => {
    const sentAt = wallNow();
    slips.push(sentAt - scheduledAt);
    sent++;
    const body = JSON.stringify({
      eventType: run.eventTypes[seq % run.eventTypes.length],
      payload: { seq, sentAt: Math.round(sentAt), order: { id: `o_${seq}`, filler } },
    });
    const p = pool
      .request({ method: 'POST', path: '/v1/events', headers, body })
      .then(async (res) => {
        const text = await res.body.text();
        responses.push(wallNow() - sentAt);
        if (res.statusCode !== 202) {
          errors[`http_${res.statusCode}`] = (errors[`http_${res.statusCode}`] ?? 0) + 1;
          return;
        }
        const event = JSON.parse(text) as { id: string; createdAt: string };
        samples.push([event.id, sentAt, Date.parse(event.createdAt)]);
      })
      .catch((err: Error & { code?: string }) => {
        const k = err.code ?? err.name;
        errors[k] = (errors[k] ?? 0) + 1;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };

  const started = wallNow();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = wallNow();
      const due = Math.min(total, Math.floor((now - started) / interval) + 1);
      while (slot < due) {
        const scheduledAt = started + slot * interval;
        if (pending.size >= run.maxInFlight) skipped++;
        else fire(slot, scheduledAt);
        slot++;
      }
      if (slot >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
    tick();
  });
  const sendWindow = wallNow() - started;
  // Bounded: every request has a 20 s header/body timeout.
  await Promise.all([...pending]);
  const cpu = process.cpuUsage(cpu0);
  await pool.close();
  return {
    scheduled: total,
    sent,
    accepted: samples.length,
    skipped,
    errors,
    durationMs: Math.round(sendWindow),
    achievedRate: Math.round((samples.length / sendWindow) * 1000),
    sendSlipMs: summarize(slips),
    responseMs: summarize(responses),
    samples,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}

serveRpc(async (msg) => {
  if (msg.type !== 'run') throw new Error(`unknown message ${msg.type}`);
  return { result: await openLoop(msg.run as OpenLoopRun) };
});
process.send?.({ type: 'ready' });
