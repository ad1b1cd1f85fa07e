import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { ConflictError, InvalidInputError, NotFoundError } from '../common/errors';
import { isId, newId } from '../common/ids';
import { DeliveriesRepository, EndpointStateRow } from './deliveries.repository';
import type { QueryScope } from '../common/query-scope';
import { DeliveryView, RecoverResultView, SentTestView, toDeliveryView } from './deliveries.views';

/** Event type of POST /v1/endpoints/{id}/test events. */
export const TEST_EVENT_TYPE = 'tern.test';

/**
 * Support and customer actions on deliveries. Each one is a single transaction that makes deliveries pending
 * and writes their outbox rows (plus a NOTIFY on commit), so the worker picks them up exactly like new events.
 * A re-queued delivery keeps its id, event id (= webhook-id) and attempt count: attempt numbers continue.
 */
@Injectable()
export class DeliveryActionsService {
  constructor(
    private readonly repo: DeliveriesRepository,
    private readonly config: AppConfig,
  ) {}

  /**
   * Sends a finished (succeeded or failed) delivery again: pending, due now, a fresh DELIVERY_DEADLINE_SECONDS.
   * 409 while it is still pending, or when its endpoint is disabled or deleted.
   */
  async redeliver(scope: QueryScope, deliveryId: string): Promise<DeliveryView> {
    const state = isId('dlv', deliveryId) ? await this.repo.findDeliveryState(scope, deliveryId) : null;
    if (!state) throw new NotFoundError('delivery', deliveryId);
    const result = await this.repo.withLockedEndpoint({}, state.endpointId, async (endpoint, tx) => {
      refuseUnlessLive(endpoint, state.endpointId, 'redeliver to it');
      return this.repo.requeueDelivery(tx, deliveryId, this.settings());
    });
    if (!result) throw new NotFoundError('delivery', deliveryId);
    if ('pending' in result) {
      throw new ConflictError(
        `delivery ${deliveryId} is pending (an attempt is scheduled or in progress); only succeeded or failed deliveries can be redelivered`,
      );
    }
    return toDeliveryView(result.row);
  }

  /**
   * Re-queues the endpoint's failed deliveries created in [since, until) (until: now), oldest first, at most
   * RECOVER_MAX_DELIVERIES per call (`capped` and `resumeFrom` say where to continue). 409 when the endpoint is
   * disabled or deleted.
   */
  async recover(
    scope: QueryScope,
    endpointId: string,
    since: Date,
    until?: Date,
  ): Promise<RecoverResultView> {
    if (!isId('ep', endpointId)) throw new NotFoundError('endpoint', endpointId);
    const end = until ?? new Date();
    if (Number.isNaN(since.getTime()))
      throw new InvalidInputError([{ field: 'since', reason: 'is not a date' }]);
    if (Number.isNaN(end.getTime()))
      throw new InvalidInputError([{ field: 'until', reason: 'is not a date' }]);
    if (since.getTime() >= end.getTime()) {
      throw new InvalidInputError([{ field: until ? 'until' : 'since', reason: 'must be after since' }]);
    }
    const max = this.config.RECOVER_MAX_DELIVERIES;
    const r = await this.repo.withLockedEndpoint(scope, endpointId, async (endpoint, tx) => {
      refuseUnlessLive(endpoint, endpointId, 'recover its deliveries');
      return this.repo.requeueFailed(tx, endpointId, since, end, max, this.settings());
    });
    return {
      requeued: r.requeued,
      capped: r.nextFrom !== null,
      limit: max,
      resumeFrom: r.nextFrom?.toISOString() ?? null,
    };
  }

  /**
   * Sends a `tern.test` event `{message, sentAt}` to this endpoint only — even when its eventTypes don't include
   * tern.test — through the outbox like any event. 409 when the endpoint is disabled or deleted.
   */
  async sendTest(scope: QueryScope, endpointId: string): Promise<SentTestView> {
    if (!isId('ep', endpointId)) throw new NotFoundError('endpoint', endpointId);
    const sentAt = new Date().toISOString();
    const payloadJson = JSON.stringify({
      message: 'This is a test event sent by Tern to check that this endpoint receives webhooks.',
      sentAt,
    });
    return this.repo.withLockedEndpoint(scope, endpointId, async (endpoint, tx) => {
      const live = refuseUnlessLive(endpoint, endpointId, 'send it a test event');
      return this.repo.insertSingleDeliveryEvent(
        tx,
        {
          id: newId('evt'),
          applicationId: live.applicationId,
          endpointId,
          eventType: TEST_EVENT_TYPE,
          payloadJson,
        },
        this.settings(),
      );
    });
  }

  private settings() {
    return { deadlineSeconds: this.config.DELIVERY_DEADLINE_SECONDS };
  }
}

function refuseUnlessLive(
  endpoint: EndpointStateRow | null,
  endpointId: string,
  action: string,
): EndpointStateRow {
  if (!endpoint) throw new NotFoundError('endpoint', endpointId);
  if (endpoint.deleted) throw new ConflictError(`endpoint ${endpointId} is deleted: cannot ${action}`);
  if (endpoint.disabled) {
    throw new ConflictError(`endpoint ${endpointId} is disabled: enable it first to ${action}`);
  }
  return endpoint;
}
