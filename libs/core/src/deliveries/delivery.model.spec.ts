import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttemptOutcome, DeliveryStatus, EventPriority } from '@tern/database/generated/prisma/enums';
import { PRIORITIES } from '@tern/delivery-rules';
import { ATTEMPT_OUTCOMES, DELIVERY_STATUSES } from './delivery.model';

describe('delivery model', () => {
  it('DELIVERY_STATUSES are the values of the delivery_status enum', () => {
    assert.deepEqual([...DELIVERY_STATUSES].sort(), Object.values(DeliveryStatus).sort());
  });
  it('ATTEMPT_OUTCOMES are the values of the attempt_outcome enum', () => {
    assert.deepEqual([...ATTEMPT_OUTCOMES].sort(), Object.values(AttemptOutcome).sort());
  });
  it('PRIORITIES are the values of the event_priority enum, in its order (highest first: the index sorts so)', () => {
    assert.deepEqual([...PRIORITIES], Object.values(EventPriority));
  });
});
