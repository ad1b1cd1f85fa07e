import type { EndpointOrdering, OrderingOnFailure } from '@tern/core';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import {
  DescriptionField,
  DisabledField,
  EventTypesField,
  FilterField,
  HeadersField,
  MaxInFlightField,
  OnFailureField,
  OrderingField,
  RateLimitField,
  UrlField,
} from './endpoint-fields';

/** PATCH: only the fields given change; `headers` replaces the whole set. */
export class UpdateEndpointDto {
  @UrlField({ optional: true })
  url?: string;

  @DescriptionField()
  description?: string;

  @EventTypesField()
  eventTypes?: string[];

  @DisabledField(
    "true: the endpoint's pending deliveries fail at once (last_error endpoint_disabled); " +
      'false: re-enables it for events accepted from then on.',
  )
  disabled?: boolean;

  @ApiPropertyOptional({
    nullable: true,
    maxLength: 500,
    description: 'Why the endpoint is disabled; only together with "disabled": true.',
    example: 'maintenance',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  disabledReason?: string | null;

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
}
