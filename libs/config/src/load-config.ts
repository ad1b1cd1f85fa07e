import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
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
  if (problems.length) throw new ConfigError(problems);
  return config;
}
