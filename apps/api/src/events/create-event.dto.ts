import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, Matches } from 'class-validator';
import {
  EVENT_TYPE_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  PARTITION_KEY_MAX_LENGTH,
  PARTITION_KEY_PATTERN,
  PARTITION_KEY_REASON,
} from '@tern/core';
import { DEFAULT_PRIORITY, PRIORITIES, Priority } from '@tern/delivery-rules';

export const EVENT_TYPE_MESSAGE = 'must be 1-128 letters, digits, "_", ".", ":" or "-"';
export const IDEMPOTENCY_KEY_MESSAGE = 'must be 1-255 printable ASCII characters';

/**
 * One event. `payload` is checked here only for being an object: EventInputPipe keeps it out of
 * class-transformer (which would copy it, drop `__proto__` keys and overflow on deep nesting), and the service
 * checks its size (MAX_PAYLOAD_BYTES, else 413), depth and text.
 */
export class CreateEventDto {
  @ApiProperty({ example: 'invoice.paid', pattern: EVENT_TYPE_PATTERN.source, maxLength: 128 })
  @IsString()
  @Matches(EVENT_TYPE_PATTERN, { message: EVENT_TYPE_MESSAGE })
  eventType: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Any JSON object; at most MAX_PAYLOAD_BYTES as compact JSON (else 413).',
    example: { invoiceId: 'in_123', amount: 4200, currency: 'EUR' },
  })
  @IsObject()
  payload: Record<string, unknown>;

  @ApiPropertyOptional({
    description:
      'Repeating a key (per application) within IDEMPOTENCY_WINDOW_SECONDS returns the original event with 200 ' +
      'and creates nothing. May also be sent as the Idempotency-Key header (both given and different: 422).',
    example: 'order-1234-paid',
    minLength: 1,
    maxLength: 255,
  })
  @IsOptional()
  @IsString()
  @Matches(IDEMPOTENCY_KEY_PATTERN, { message: IDEMPOTENCY_KEY_MESSAGE })
  idempotencyKey?: string;

  @ApiPropertyOptional({
    enum: PRIORITIES,
    default: DEFAULT_PRIORITY,
    description:
      "Release order of the event's deliveries at each endpoint: higher first, within the endpoint's limits, " +
      'with a share kept for lower levels (PRIORITY_WEIGHT_HIGH/NORMAL/LOW). Part of the event for its key.',
  })
  @IsOptional()
  @IsIn(PRIORITIES, { message: `must be one of ${PRIORITIES.join(', ')}` })
  priority?: Priority;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description:
      'Orders the deliveries to endpoints with ordering "partitioned": per endpoint, the deliveries of one key go one ' +
      'at a time, in the order the events were accepted (a batch: its array order). Absent or null: unordered. ' +
      'Part of the event for its idempotency key.',
    example: 'customer-42',
    minLength: 1,
    maxLength: PARTITION_KEY_MAX_LENGTH,
  })
  @IsOptional()
  @IsString()
  @Matches(PARTITION_KEY_PATTERN, { message: PARTITION_KEY_REASON })
  partitionKey?: string | null;
}

/** The answer to POST /v1/events (Swagger only). */
export class AcceptedEventDto {
  @ApiProperty({ example: 'evt_019a2b3c4d5e6f708192a3b4c5d6' })
  id: string;

  @ApiProperty({ example: 'invoice.paid' })
  eventType: string;

  @ApiProperty({ enum: PRIORITIES, example: DEFAULT_PRIORITY })
  priority: Priority;

  @ApiProperty({ type: String, nullable: true, example: 'customer-42' })
  partitionKey: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ description: 'Deliveries created: one per enabled endpoint subscribed to the type.' })
  deliveryCount: number;
}
