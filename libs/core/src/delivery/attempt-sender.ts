import { AppConfig } from '@tern/config';
import { SendRequest, SendResult, WebhookSender } from '@tern/delivery-http';
import { AddressPolicy, PortPolicy } from '@tern/delivery-rules';
import { TERN_VERSION } from '../version';

/** What DeliveryService sends an attempt with: the WebhookSender in the worker, a stand-in in its unit spec. */
export interface AttemptSender {
  /** Never throws: failures come back as an `errorClass`. */
  send(req: SendRequest): Promise<SendResult>;
  /** Closes the HTTP pools once the requests in flight are done. */
  close(): Promise<void>;
}

/** Nest injection token of the AttemptSender. */
export const ATTEMPT_SENDER = Symbol('ATTEMPT_SENDER');

/** The worker's sender: undici pools with the SSRF-checked connect, timeouts and caps from the settings. */
export function webhookSenderFor(config: AppConfig): AttemptSender {
  return new WebhookSender({
    connectTimeoutMs: config.DELIVERY_CONNECT_TIMEOUT_MS,
    attemptTimeoutMs: config.DELIVERY_ATTEMPT_TIMEOUT_MS,
    maxResponseBodyBytes: config.DELIVERY_RESPONSE_BODY_MAX_BYTES,
    policy: AddressPolicy.fromCsv(config.SSRF_ALLOW_CIDRS),
    ports: PortPolicy.parse(config.DELIVERY_ALLOWED_PORTS),
    userAgent: `Tern/${TERN_VERSION}`,
  });
}
