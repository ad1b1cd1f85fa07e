/**
 * Operational events: Tern's own events about an application's standard endpoints, sent to that application's
 * operational endpoints (kind "operational") through the usual event → deliveries → dispatcher path, so they are
 * signed, retried and logged like any delivery. Application events never reach operational endpoints, and nothing
 * is ever emitted about an operational endpoint or its deliveries (so operational events cannot loop).
 *
 * - `endpoint.disabled` — a standard endpoint went from enabled to disabled: by the worker on HTTP 410, or by the
 *   application (PATCH disabled: true). Payload `{endpointId, url, reason, at}`.
 * - `delivery.failed` — a delivery to a standard endpoint ended `failed` by its own attempts (a non-retryable
 *   answer, or a retryable one with no time left before its deadline) or at its deadline. Not sent for the pending
 *   deliveries failed because their endpoint was disabled or deleted. Payload `{deliveryId, eventId, eventType,
 *   endpointId, url, lastError, lastStatusCode, attempts, at}`.
 * - `endpoint.recovered` — an attempt to a standard endpoint succeeded and either the attempts to that endpoint
 *   recorded since its previous success (all deliveries, all workers; interrupted attempts not counted) were at
 *   least ENDPOINT_RECOVERED_AFTER_FAILURES failures (reason `failure_streak`), or the endpoint was re-enabled
 *   since its previous success (reason `re_enabled`); see advanceFailureStreak. Payload `{endpointId, url, reason,
 *   failedAttempts, at}`.
 *
 * - `endpoint.circuit_opened` — the dispatcher stopped sending to a standard endpoint after
 *   CIRCUIT_FAILURE_THRESHOLD consecutive failed attempts. Payload `{endpointId, url, failedAttempts, nextProbeAt,
 *   at}`.
 * - `endpoint.circuit_closed` — an attempt succeeded while its circuit was open or half-open (the probe, or one
 *   still in flight when it opened); its backlog is released again. Payload `{endpointId, url, openedAt, at}`.
 *
 * Each is written in the transaction of the state change it reports (operational-events.sql.ts), so a crash
 * loses none; the failure streak lives on the endpoint row (`failure_streak`, `reenabled_at`), not in Redis. An
 * event is written only when the application has an enabled operational endpoint subscribed to its type.
 * Payloads are JSON objects as Postgres's jsonb prints them (keys ordered by length, then bytes).
 */
export const OPERATIONAL_EVENT = {
  endpointDisabled: 'endpoint.disabled',
  deliveryFailed: 'delivery.failed',
  endpointRecovered: 'endpoint.recovered',
  circuitOpened: 'endpoint.circuit_opened',
  circuitClosed: 'endpoint.circuit_closed',
} as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT)[keyof typeof OPERATIONAL_EVENT];
