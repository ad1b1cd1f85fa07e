// Loads ./.env (if present) into process.env without overriding variables already set.
import { existsSync } from 'node:fs';
export function loadDotEnv(path = '.env') {
  if (existsSync(path)) process.loadEnvFile(path);
}
