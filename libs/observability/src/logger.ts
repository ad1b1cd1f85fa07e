import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * Paths never written to a log line: secrets, keys, signatures, authorization headers, session cookies (both
 * ways). Request and response bodies are not logged at all. test/log-redaction.e2e-spec.ts checks the result.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["webhook-signature"]',
  'res.headers["set-cookie"]',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  '*.secret',
  '*.key',
  '*.apiKey',
  '*.signature',
  '*.headers.authorization',
  '*.headers["webhook-signature"]',
];

/** What a log line looks like: a JSON object (log collectors, tests) or one readable line (a terminal). */
export type LogFormat = 'json' | 'pretty';

/** The LOG_FORMAT setting: `auto` is pretty when stdout is a terminal, JSON everywhere else (pipes, files). */
export function resolveLogFormat(
  setting: string,
  stdoutIsTty: boolean = process.stdout.isTTY === true,
): LogFormat {
  if (setting === 'json' || setting === 'pretty') return setting;
  return stdoutIsTty ? 'pretty' : 'json';
}

/** The fields a pretty line shows in its message part (see prettyMessage); the rest, if any, follows as JSON. */
const PRETTY_MESSAGE_FIELDS = ['pid', 'hostname', 'name', 'context', 'req', 'res', 'responseTime'];
/** pino-http's message for an answered request: the pretty line shows method, path, status and time instead. */
const REQUEST_COMPLETED = 'request completed';

const LINE_BREAK = /\r?\n/g;

/** The fields pino and pino-http write that a pretty line's message part uses (a log line is any JSON). */
interface PrettyLogFields {
  name?: string;
  context?: string;
  msg?: string;
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
}

/** The message part of a pretty line: `tern-api [Context] message`, or `tern-api GET /v1/x 200 3 ms` for requests. */
export function prettyMessage(log: PrettyLogFields): string {
  const parts: string[] = [];
  if (typeof log.name === 'string') parts.push(log.name);
  if (typeof log.context === 'string' && log.context) parts.push(`[${log.context}]`);
  const { req, res } = log;
  if (req?.method !== undefined && res?.statusCode !== undefined) {
    parts.push(
      `${String(req.method)} ${String(req.url)} ${String(res.statusCode)} ${String(log.responseTime)} ms`,
    );
    if (log.msg !== REQUEST_COMPLETED && log.msg !== undefined) parts.push(String(log.msg));
  } else if (log.msg !== undefined) {
    parts.push(String(log.msg));
  }
  return parts.join(' ').replace(LINE_BREAK, '\\n'); // a message with line breaks still takes one line
}

/** pino-pretty as an in-process stream (no worker thread): one line per log, synchronous like pino's default. */
function prettyStream(destination?: DestinationStream): DestinationStream {
  return pretty({
    destination: destination ?? 1,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: PRETTY_MESSAGE_FIELDS.join(','),
    messageFormat: (log) => prettyMessage(log),
  });
}

export interface LoggerOptions {
  /** Default `json`. */
  format?: LogFormat;
  /** Default stdout (tests pass a stream). */
  destination?: DestinationStream;
}

/** Log lines to stdout (or `destination`): JSON, or one readable line each when `format` is `pretty`. */
export function createLogger(level: string, name: string, opts: LoggerOptions = {}): Logger {
  const options = {
    level,
    name,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (opts.format === 'pretty') return pino(options, prettyStream(opts.destination));
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/**
 * Nest contexts whose info lines are start-up detail — one per module (InstanceLoader), controller (RoutesResolver)
 * and route (RouterExplorer's "Mapped {/v1/…, POST} route"): logged at debug so that info reads as a summary.
 */
export const NEST_STARTUP_DETAIL_CONTEXTS: ReadonlySet<string> = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
]);

/** Nest's LoggerService over pino, so framework messages share the format, level and redaction of the rest. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    if (context !== undefined && NEST_STARTUP_DETAIL_CONTEXTS.has(context)) this.debug(message, context);
    else this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
  fatal(message: unknown, context?: string): void {
    this.logger.fatal({ context }, String(message));
  }
}
