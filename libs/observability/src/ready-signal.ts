/**
 * What a Tern process tells the `npm start` supervisor (scripts/start.mjs, which prints the start banner from these)
 * once it serves. Sent over the IPC channel the supervisor opens; a process started any other way sends nothing.
 */
export const READY_MESSAGE_TYPE = 'tern:ready';

export type ReadyMessage =
  | { type: typeof READY_MESSAGE_TYPE; role: 'api'; url: string; pid: number }
  | { type: typeof READY_MESSAGE_TYPE; role: 'worker'; concurrency: number; pid: number };

/** Tells the parent this process is up, if the parent listens; the channel then no longer keeps the process alive. */
export function signalReady(message: ReadyMessage): void {
  if (!process.send) return;
  process.send(message);
  process.channel?.unref();
}

/** The address a browser on this machine uses for an API bound to `host` (a wildcard bind means this machine). */
export function browserUrl(publicUrl: string, host: string, port: number): string {
  if (publicUrl) return publicUrl.replace(/\/$/, '');
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
