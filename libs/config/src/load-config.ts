import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { PortPolicy } from '@tern/delivery-rules';
import { AppConfig } from './app-config';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads, converts and validates the environment once. Throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const defaults = new AppConfig();
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(defaults) as (keyof AppConfig)[]) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    const def = defaults[key];
    raw[key] = typeof def === 'number' && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  }
  const config = plainToInstance(AppConfig, { ...defaults, ...raw });
  const problems = validateSync(config, { skipMissingProperties: false }).flatMap((e) =>
    Object.values(e.constraints ?? {}).map((msg) => {
      const shown = /KEY|TOKEN/.test(e.property) ? '(hidden)' : JSON.stringify(e.value);
      return `${e.property}: ${msg.replace(`${e.property} `, '')} (got ${shown})`;
    }),
  );
  if (config.RETRY_BASE_DELAY_MS > config.RETRY_MAX_DELAY_MS) {
    problems.push('RETRY_BASE_DELAY_MS: must not exceed RETRY_MAX_DELAY_MS');
  }
  if (config.PAGE_SIZE_DEFAULT > config.PAGE_SIZE_MAX) {
    problems.push('PAGE_SIZE_DEFAULT: must not exceed PAGE_SIZE_MAX');
  }
  problems.push(...retentionProblems(config));
  try {
    PortPolicy.parse(config.DELIVERY_ALLOWED_PORTS);
  } catch (err) {
    problems.push(`DELIVERY_ALLOWED_PORTS: ${(err as Error).message}`);
  }
  if (config.MAX_DELIVERIES_PER_REQUEST < config.MAX_ENDPOINTS_PER_APPLICATION) {
    problems.push(
      `MAX_DELIVERIES_PER_REQUEST: ${config.MAX_DELIVERIES_PER_REQUEST} is below MAX_ENDPOINTS_PER_APPLICATION ` +
        `(${config.MAX_ENDPOINTS_PER_APPLICATION}): one event to every endpoint of an application could never be accepted`,
    );
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/**
 * Retention must outlive what still depends on a row: a delivery retried until its deadline, and the idempotency
 * window (a key purged early lets a re-sent event be accepted twice). 0 keeps everything, so it always passes.
 */
export function retentionProblems(
  config: Pick<AppConfig, 'RETENTION_DAYS' | 'DELIVERY_DEADLINE_SECONDS' | 'IDEMPOTENCY_WINDOW_SECONDS'>,
): string[] {
  if (config.RETENTION_DAYS === 0) return [];
  const retentionSeconds = config.RETENTION_DAYS * 86_400;
  const needs: [string, number][] = [
    ['DELIVERY_DEADLINE_SECONDS', config.DELIVERY_DEADLINE_SECONDS],
    ['IDEMPOTENCY_WINDOW_SECONDS', config.IDEMPOTENCY_WINDOW_SECONDS],
  ];
  return needs
    .filter(([, seconds]) => seconds > retentionSeconds)
    .map(
      ([name, seconds]) =>
        `RETENTION_DAYS: ${config.RETENTION_DAYS} day(s) is shorter than ${name} (${seconds} s); ` +
        `rows would be purged while still needed: raise RETENTION_DAYS to at least ${Math.ceil(seconds / 86_400)} or set 0`,
    );
}
