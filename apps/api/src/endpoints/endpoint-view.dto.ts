import { ApiProperty } from '@nestjs/swagger';
import {
  ENDPOINT_ORDERINGS,
  ORDERING_ON_FAILURE,
  type CreatedEndpointView,
  type EndpointCircuitView,
  type EndpointOrdering,
  type EndpointView,
  type FilterTestView,
  type OrderingOnFailure,
  type RawJson,
} from '@tern/core';
import { CIRCUIT_STATES, CircuitState } from '@tern/delivery-rules';

// The endpoint as the API answers it (Swagger only): each class implements its view, so a field added to the view
// and not documented here fails the build.

export class EndpointCircuitDto implements EndpointCircuitView {
  @ApiProperty({
    enum: CIRCUIT_STATES,
    description:
      'The circuit breaker, managed by Tern. closed: deliveries flow. open: after CIRCUIT_FAILURE_THRESHOLD ' +
      'consecutive failed attempts nothing is sent; deliveries wait until a probe succeeds. half_open: one probe ' +
      'delivery is out.',
  })
  state: CircuitState;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When it opened; null when closed.',
  })
  openedAt: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      'open: when the next probe may be sent; half_open: when another probe may go if the one out gets no ' +
      'answer; null when closed.',
  })
  nextProbeAt: string | null;
}

export class EndpointDto implements EndpointView {
  @ApiProperty({ example: 'ep_019a2b3c4d5e6f708192a3b4c5d6' })
  id: string;

  @ApiProperty({ example: 'app_019a2b3c4d5e6f708192a3b4c5d6' })
  applicationId: string;

  @ApiProperty({ example: 'https://example.com/webhooks/tern' })
  url: string;

  @ApiProperty({ enum: ['standard', 'operational'] })
  kind: 'standard' | 'operational';

  @ApiProperty()
  description: string;

  @ApiProperty({ type: [String], description: 'Empty = every event type.' })
  eventTypes: string[];

  @ApiProperty()
  disabled: boolean;

  @ApiProperty({ type: String, nullable: true })
  disabledReason: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  disabledAt: string | null;

  @ApiProperty({ type: 'integer', nullable: true, description: 'null = no limit.' })
  rateLimitPerSecond: number | null;

  @ApiProperty({ type: 'integer', nullable: true, description: 'null = ENDPOINT_MAX_IN_FLIGHT.' })
  maxInFlight: number | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Custom request headers (values "[redacted]" for support keys).',
  })
  headers: Record<string, string>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      'The payload filter, exactly as it was sent (key order and spacing kept); null = every event. See the README, ' +
      '"Payload filters".',
    example: { type: 'order.paid', 'data.total': { $gte: 100 } },
  })
  filter: RawJson | null;

  @ApiProperty({ enum: ENDPOINT_ORDERINGS, description: 'none, or one delivery at a time per partitionKey.' })
  ordering: EndpointOrdering;

  @ApiProperty({
    enum: ORDERING_ON_FAILURE,
    description: 'With ordering partitioned: skip or block a key whose delivery failed for good.',
  })
  onFailure: OrderingOnFailure;

  @ApiProperty({ type: EndpointCircuitDto })
  circuit: EndpointCircuitDto;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class CreatedEndpointDto extends EndpointDto implements CreatedEndpointView {
  @ApiProperty({ description: 'The signing secret ("whsec_…"); also GET /v1/endpoints/{id}/secret.' })
  secret: string;
}

export class EndpointPageDto {
  @ApiProperty({ type: [EndpointDto] })
  data: EndpointDto[];

  @ApiProperty({ type: String, nullable: true, description: 'The next (older) page; null on the last.' })
  nextCursor: string | null;
}

export class FilterTestResultDto implements FilterTestView {
  @ApiProperty({
    description: 'Whether the filter lets this event through (the endpoint would get a delivery).',
  })
  matched: boolean;

  @ApiProperty({
    type: [String],
    description: 'The conditions that decided it, one per line (`data.total: 5 is not >= 100`).',
  })
  reasons: string[];

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: "The filter tried: the one given, else the endpoint's (as sent); null when it has none.",
  })
  filter: RawJson | null;
}
