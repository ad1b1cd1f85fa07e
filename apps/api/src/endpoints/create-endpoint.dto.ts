import type { EndpointOrdering, OrderingOnFailure } from '@tern/core';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import {
  DescriptionField,
  DisabledField,
  EventTypesField,
  FilterField,
  HeadersField,
  MaxInFlightField,
  OnFailureField,
  OrderingField,
  OptionalNotNull,
  RateLimitField,
  SecretField,
  UrlField,
} from './endpoint-fields';

export class CreateEndpointDto {
  @UrlField({ optional: false })
  url: string;

  @ApiPropertyOptional({
    enum: ['standard', 'operational'],
    default: 'standard',
    description:
      "standard: receives your events. operational: receives only Tern's operational events about your standard " +
      'endpoints (endpoint.disabled, delivery.failed, endpoint.recovered), signed the same way. Fixed at creation.',
  })
  @OptionalNotNull()
  @IsIn(['standard', 'operational'])
  kind?: 'standard' | 'operational';

  @DescriptionField()
  description?: string;

  @EventTypesField()
  eventTypes?: string[];

  @DisabledField()
  disabled?: boolean;

  @RateLimitField()
  rateLimitPerSecond?: number | null;

  @MaxInFlightField()
  maxInFlight?: number | null;

  @HeadersField()
  headers?: Record<string, string>;

  /** The parsed value is ignored: the controller takes the member's text from the raw body (rawFilterText). */
  @FilterField()
  filter?: unknown;

  @OrderingField()
  ordering?: EndpointOrdering;

  @OnFailureField()
  onFailure?: OrderingOnFailure;

  @SecretField(
    'Your own signing secret: "whsec_" + base64 of 24-64 bytes. Generated (32 bytes) when absent. ' +
      'Returned in this response and by GET /v1/endpoints/{id}/secret.',
  )
  secret?: string;
}
