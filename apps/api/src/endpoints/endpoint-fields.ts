import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform, TransformFnParams } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import {
  ENDPOINT_DESCRIPTION_MAX_LENGTH,
  ENDPOINT_EVENT_TYPES_MAX,
  ENDPOINT_URL_MAX_LENGTH,
  ENDPOINT_ORDERINGS,
  EVENT_TYPE_PATTERN,
  MAX_IN_FLIGHT_MAX,
  ORDERING_ON_FAILURE,
  RATE_LIMIT_PER_SECOND_MAX,
} from '@tern/core';

// The endpoint fields shared by CreateEndpointDto and UpdateEndpointDto: documentation and validation in one place.

/** Optional, but `null` is not a value: validated whenever the field is present. */
export const OptionalNotNull = () => ValidateIf((_obj: object, value: unknown) => value !== undefined);

/**
 * The decorators applied as if stacked on the property in this order (bottom-up), so that the validations run, and
 * their messages are listed, in the same order as written.
 */
function stacked(...decorators: PropertyDecorator[]): PropertyDecorator {
  return applyDecorators(...[...decorators].reverse());
}

const URL_DOC: ApiPropertyOptions = {
  description:
    'Absolute http(s) URL without credentials. Hosts given as IP literals must be reachable under the SSRF policy.',
  example: 'https://example.com/webhooks/tern',
  maxLength: ENDPOINT_URL_MAX_LENGTH,
};
const DESCRIPTION_DOC: ApiPropertyOptions = {
  maxLength: ENDPOINT_DESCRIPTION_MAX_LENGTH,
  example: 'Billing events',
};
const EVENT_TYPES_DOC: ApiPropertyOptions = {
  description: 'Event types delivered to this endpoint; empty (the default) = every type.',
  type: [String],
  maxItems: ENDPOINT_EVENT_TYPES_MAX,
  example: ['invoice.paid', 'invoice.voided'],
};
const DISABLED_DOC: ApiPropertyOptions = {
  description: 'A disabled endpoint gets no deliveries.',
  default: false,
};
const RATE_LIMIT_DOC: ApiPropertyOptions = {
  type: 'integer',
  nullable: true,
  minimum: 1,
  maximum: RATE_LIMIT_PER_SECOND_MAX,
  description: 'Most deliveries per second to this endpoint; null = no limit.',
};
const MAX_IN_FLIGHT_DOC: ApiPropertyOptions = {
  type: 'integer',
  nullable: true,
  minimum: 1,
  maximum: MAX_IN_FLIGHT_MAX,
  description:
    'Most deliveries of this endpoint released at once (queued or being attempted), across all worker processes; ' +
    'null = ENDPOINT_MAX_IN_FLIGHT.',
};
const HEADERS_DOC: ApiPropertyOptions = {
  type: 'object',
  additionalProperties: { type: 'string' },
  description:
    'Extra request headers (at most MAX_ENDPOINT_HEADERS, MAX_ENDPOINT_HEADERS_BYTES in total). Names are HTTP ' +
    'tokens; content-type, content-length, user-agent, host, connection, transfer-encoding and webhook-* are ' +
    'reserved. Values must not contain CR or LF.',
  example: { 'X-Tenant': 'acme' },
};
/**
 * Keeps the value as parsed: class-transformer would silently drop names that shadow Object.prototype
 * methods ("toString", "valueOf", …). (Nest's ValidationPipe already removed "__proto__", "constructor", "prototype".)
 */
const rawValue = ({ obj, key }: TransformFnParams): unknown => (obj as Record<string, unknown>)[key];

const EVENT_TYPE_MESSAGE = 'each value must be 1-128 letters, digits, "_", ".", ":" or "-"';

/** `url`: required on create, optional (but not null) on update. */
export const UrlField = ({ optional }: { optional: boolean }) =>
  stacked(
    ...(optional ? [ApiPropertyOptional(URL_DOC), OptionalNotNull()] : [ApiProperty(URL_DOC)]),
    IsString(),
    MinLength(1),
    MaxLength(ENDPOINT_URL_MAX_LENGTH),
  );

export const DescriptionField = () =>
  stacked(
    ApiPropertyOptional(DESCRIPTION_DOC),
    OptionalNotNull(),
    IsString(),
    MaxLength(ENDPOINT_DESCRIPTION_MAX_LENGTH),
  );

export const EventTypesField = () =>
  stacked(
    ApiPropertyOptional(EVENT_TYPES_DOC),
    OptionalNotNull(),
    IsArray(),
    ArrayMaxSize(ENDPOINT_EVENT_TYPES_MAX),
    IsString({ each: true }),
    Matches(EVENT_TYPE_PATTERN, { each: true, message: EVENT_TYPE_MESSAGE }),
  );

/** `disabled`, documented with `description` where the operation gives it more meaning. */
export const DisabledField = (description?: string) =>
  stacked(
    ApiPropertyOptional(description === undefined ? DISABLED_DOC : { ...DISABLED_DOC, description }),
    OptionalNotNull(),
    IsBoolean(),
  );

/** `rateLimitPerSecond`: `null` allowed (no limit). */
export const RateLimitField = () =>
  stacked(ApiPropertyOptional(RATE_LIMIT_DOC), IsOptional(), IsInt(), Min(1), Max(RATE_LIMIT_PER_SECOND_MAX));

/** `maxInFlight`: `null` allowed (ENDPOINT_MAX_IN_FLIGHT). */
export const MaxInFlightField = () =>
  stacked(ApiPropertyOptional(MAX_IN_FLIGHT_DOC), IsOptional(), IsInt(), Min(1), Max(MAX_IN_FLIGHT_MAX));

export const HeadersField = () =>
  stacked(ApiPropertyOptional(HEADERS_DOC), OptionalNotNull(), IsObject(), Transform(rawValue));

const ORDERING_DOC: ApiPropertyOptions = {
  enum: ENDPOINT_ORDERINGS,
  default: 'none',
  description:
    'partitioned: the deliveries of events with one partitionKey go one at a time, in the order the events were ' +
    'accepted (each starts after the previous one ended); different keys, and events without a key, in parallel ' +
    'up to maxInFlight. Applies to deliveries created after the change.',
};
const ON_FAILURE_DOC: ApiPropertyOptions = {
  enum: ORDERING_ON_FAILURE,
  default: 'skip',
  description:
    'With ordering partitioned, when a delivery fails for good. skip: the next one of its key goes (the failure ' +
    'stays visible and can be redelivered). block: its key waits until that delivery is redelivered successfully ' +
    'or skipped (GET /v1/endpoints/{id}/blocked-partitions, POST /v1/endpoints/{id}/partitions/skip); switching ' +
    'to skip releases every blocked key.',
};

export const OrderingField = () =>
  stacked(
    ApiPropertyOptional(ORDERING_DOC),
    OptionalNotNull(),
    IsIn(ENDPOINT_ORDERINGS, { message: `must be one of ${ENDPOINT_ORDERINGS.join(', ')}` }),
  );

export const OnFailureField = () =>
  stacked(
    ApiPropertyOptional(ON_FAILURE_DOC),
    OptionalNotNull(),
    IsIn(ORDERING_ON_FAILURE, { message: `must be one of ${ORDERING_ON_FAILURE.join(', ')}` }),
  );

/** A signing secret of the caller's own (`secret` on create and on rotate); the service checks its format. */
export const SecretField = (description: string) =>
  stacked(
    ApiPropertyOptional({ description, example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }),
    OptionalNotNull(),
    IsString(),
    MaxLength(200),
  );

const FILTER_DOC: ApiPropertyOptions = {
  type: 'object',
  additionalProperties: true,
  nullable: true,
  description:
    'Payload filter: a JSON object matched against {"type": eventType, "data": payload}; only matching events are ' +
    'delivered. Operators $eq $neq $gt $gte $lt $lte $in $nin $exists $startsWith $endsWith $and $or $not, dotted ' +
    'paths ("data.order.total"). At most ENDPOINT_FILTER_MAX_BYTES and ENDPOINT_FILTER_MAX_DEPTH. Kept and returned ' +
    'as sent; null = none (on update: clears it). Standard endpoints only.',
  example: { type: 'order.paid', 'data.total': { $gte: 100 } },
};

/**
 * `filter`: documented here, read by the controller from the raw request body (rawFilterText), never from the
 * transformed DTO: class-transformer and Nest's pipe drop or alter keys such as "__proto__" or "constructor".
 */
export const FilterField = () => stacked(ApiPropertyOptional(FILTER_DOC), IsOptional(), Transform(rawValue));
