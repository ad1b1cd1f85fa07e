import { DELIVERY_STATUSES, DeliveryStatus, DomainError, EVENT_TYPE_PATTERN } from '@tern/core';

/** A query parameter as one string (the first, if repeated), or undefined when absent or empty. */
export function param(q: Record<string, unknown>, name: string): string | undefined {
  let v = q[name];
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

export function statusParam(q: Record<string, unknown>): DeliveryStatus | undefined {
  const s = param(q, 'status');
  return (DELIVERY_STATUSES as readonly string[]).includes(s ?? '') ? (s as DeliveryStatus) : undefined;
}

export function eventTypeParam(q: Record<string, unknown>): string | undefined {
  const t = param(q, 'eventType');
  return t !== undefined && EVENT_TYPE_PATTERN.test(t) ? t : undefined;
}

/** Runs an action; a domain error (409, 422…) becomes its message instead of an error page. */
export async function attempt<T>(
  fn: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: DomainError }> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof DomainError && err.status !== 404) return { ok: false, error: err };
    throw err;
  }
}
