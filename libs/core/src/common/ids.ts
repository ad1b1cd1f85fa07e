import { randomBytes } from 'node:crypto';

/** Public id prefixes: one per aggregate. The database function tern_id(prefix) makes the same shape. */
export const ID_PREFIX = {
  application: 'app',
  apiKey: 'key',
  endpoint: 'ep',
  endpointSecret: 'whs',
  event: 'evt',
  delivery: 'dlv',
  attempt: 'att',
} as const;
export type IdPrefix = (typeof ID_PREFIX)[keyof typeof ID_PREFIX];

/** "<prefix>_" + 12 hex digits of unix ms + 16 random hex digits: fixed width, so ids sort by creation time. */
export function newId(prefix: IdPrefix, now = Date.now()): string {
  return `${prefix}_${now.toString(16).padStart(12, '0')}${randomBytes(8).toString('hex')}`;
}

export function isId(prefix: IdPrefix, value: unknown): value is string {
  return typeof value === 'string' && value.length === prefix.length + 29 && ID_RE[prefix].test(value);
}

const ID_RE = Object.fromEntries(
  Object.values(ID_PREFIX).map((p) => [p, new RegExp(`^${p}_[0-9a-f]{28}$`)]),
) as Record<IdPrefix, RegExp>;
