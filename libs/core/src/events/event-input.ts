import type { Node as PayloadTree } from 'jsonc-parser';

// Event types (EVENT_TYPE_PATTERN, shared with endpoint subscriptions) live in ../endpoints/endpoint-rules.
// Payload checks (on the text as sent) live in ./payload-text.

/** Idempotency keys: 1–255 printable ASCII characters (what an HTTP header can carry as is). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;

/** One event as a producer submits it. */
export interface NewEventInput {
  eventType: string;
  /** The payload's JSON text exactly as it stands in the request body (checked by checkPayloadText). */
  payload: string;
  /** The payload's syntax tree when the caller parsed it already (the API: one parse of the request body). */
  payloadTree?: PayloadTree;
  idempotencyKey?: string;
  /** `high`, `normal` or `low` (PRIORITIES); absent: DEFAULT_PRIORITY. */
  priority?: string;
  /** Orders the event's deliveries to endpoints with ordering partitioned (PARTITION_KEY_PATTERN); absent or null: none. */
  partitionKey?: string | null;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
