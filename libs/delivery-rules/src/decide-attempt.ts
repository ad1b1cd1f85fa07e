import { classifyAttempt, DeliveryErrorClass } from './outcome';
import { nextAttemptAt, RetryPolicy } from './retry-schedule';

/** Where a claimed delivery stands when its attempt starts (the claim's stage of the attempt path). */
export interface AttemptPosition {
  /** Number of this attempt (1-based, over the delivery's whole life). */
  attemptNumber: number;
  /** Attempts made before the current series (a redelivery starts a new one, with a fresh backoff). */
  attemptBase: number;
  deadlineAt: Date;
}

/** What the sender reports (the send stage). */
export interface SendOutcome {
  statusCode?: number;
  errorClass?: DeliveryErrorClass;
  errorMessage?: string;
  responseHeaders?: Record<string, string>;
}

/**
 * What the attempt decides (the write stage): the outcome as logged (`retrying`: another attempt is due at
 * `nextAttemptAt`), the delivery's last-error summary, the attempt's error message, and whether the endpoint said
 * it is gone for good. The outcome values are those of the attempts table (RecordedOutcome in @tern/core).
 */
export interface AttemptDecision {
  outcome: 'succeeded' | 'retrying' | 'failed';
  nextAttemptAt: Date | null;
  /** `<error class>` or `http_<status>`, `; deadline_exceeded` appended when no retry fits; null on success. */
  lastError: string | null;
  errorMessage: string | null;
  disableEndpoint: boolean;
}

/**
 * Decides what follows an attempt: classify the answer (classifyAttempt), and for a retryable one schedule the
 * next attempt within the deadline (nextAttemptAt, Retry-After honoured) or fail it when none fits.
 */
export function decideAttempt(
  position: AttemptPosition,
  sent: SendOutcome,
  policy: RetryPolicy,
  now: Date,
  random: () => number = Math.random,
): AttemptDecision {
  const verdict = classifyAttempt({
    statusCode: sent.statusCode,
    errorClass: sent.errorClass,
    retryAfter: sent.responseHeaders?.['retry-after'] ?? null,
    now,
  });
  let next: Date | null = null;
  let outcome: AttemptDecision['outcome'] = verdict.outcome === 'retry' ? 'retrying' : verdict.outcome;
  if (verdict.outcome === 'retry') {
    next = nextAttemptAt(
      policy,
      position.attemptNumber - position.attemptBase,
      now,
      position.deadlineAt,
      verdict.retryAfterMs,
      random,
    );
    if (!next) outcome = 'failed';
  }
  let lastError: string | null = null;
  if (outcome !== 'succeeded') {
    lastError = sent.errorClass ?? (sent.statusCode ? `http_${sent.statusCode}` : 'unknown');
    if (verdict.outcome === 'retry' && !next) lastError = `${lastError}; deadline_exceeded`;
  }
  return {
    outcome,
    nextAttemptAt: next,
    lastError,
    errorMessage: sent.errorMessage ?? (outcome === 'succeeded' ? null : verdict.reason),
    disableEndpoint: verdict.disableEndpoint,
  };
}
