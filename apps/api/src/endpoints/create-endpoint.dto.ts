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
  EVENT_TYPE_PATTERN,
  RATE_LIMIT_PER_SECOND_MAX,
} from '@tern/core';

/** Optional, but `null` is not a value: validated whenever the field is present. */
export const OptionalNotNull = () => ValidateIf((_obj: object, value: unknown) => value !== undefined);

export const URL_DOC: ApiPropertyOptions = {
  description:
    'Absolute http(s) URL without credentials. Hosts given as IP literals must be reachable under the SSRF policy.',
  example: 'https://example.com/webhooks/tern',
  maxLength: ENDPOINT_URL_MAX_LENGTH,
};
export const DESCRIPTION_DOC: ApiPropertyOptions = {
  maxLength: ENDPOINT_DESCRIPTION_MAX_LENGTH,
  example: 'Billing events',
};
export const EVENT_TYPES_DOC: ApiPropertyOptions = {
  description: 'Event types delivered to this endpoint; empty (the default) = every type.',
  type: [String],
  maxItems: ENDPOINT_EVENT_TYPES_MAX,
  example: ['invoice.paid', 'invoice.voided'],
};
export const DISABLED_DOC: ApiPropertyOptions = {
  description: 'A disabled endpoint gets no deliveries.',
  default: false,
};
export const RATE_LIMIT_DOC: ApiPropertyOptions = {
  type: 'integer',
  nullable: true,
  minimum: 1,
  maximum: RATE_LIMIT_PER_SECOND_MAX,
  description: 'Most deliveries per second to this endpoint; null = no limit.',
};
export const HEADERS_DOC: ApiPropertyOptions = {
  type: 'object',
  additionalProperties: { type: 'string' },
  description:
    'Extra request headers (at most MAX_ENDPOINT_HEADERS, MAX_ENDPOINT_HEADERS_BYTES in total). Names are HTTP ' +
    'tokens; content-type, content-length, user-agent, host, connection, transfer-encoding and webhook-* are ' +
    'reserved. Values must not contain CR or LF.',
  example: { 'X-Tenant': 'acme' },
};
/**
 * Keeps the headers object as parsed: class-transformer would silently drop names that shadow Object.prototype
 * methods ("toString", "valueOf", …). (Nest's ValidationPipe already removed "__proto__", "constructor", "prototype".)
 */
export const rawHeaders = ({ obj, key }: TransformFnParams): unknown => (obj as Record<string, unknown>)[key];

export const EVENT_TYPE_MESSAGE = 'each value must be 1-128 letters, digits, "_", ".", ":" or "-"';

export class CreateEndpointDto {
  @ApiProperty(URL_DOC)
  @IsString()
  @MinLength(1)
  @MaxLength(ENDPOINT_URL_MAX_LENGTH)
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

  @ApiPropertyOptional(DESCRIPTION_DOC)
  @OptionalNotNull()
  @IsString()
  @MaxLength(ENDPOINT_DESCRIPTION_MAX_LENGTH)
  description?: string;

  @ApiPropertyOptional(EVENT_TYPES_DOC)
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(ENDPOINT_EVENT_TYPES_MAX)
  @IsString({ each: true })
  @Matches(EVENT_TYPE_PATTERN, { each: true, message: EVENT_TYPE_MESSAGE })
  eventTypes?: string[];

  @ApiPropertyOptional(DISABLED_DOC)
  @OptionalNotNull()
  @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional(RATE_LIMIT_DOC)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(RATE_LIMIT_PER_SECOND_MAX)
  rateLimitPerSecond?: number | null;

  @ApiPropertyOptional(HEADERS_DOC)
  @OptionalNotNull()
  @IsObject()
  @Transform(rawHeaders)
  headers?: Record<string, string>;

  @ApiPropertyOptional({
    description:
      'Your own signing secret: "whsec_" + base64 of 24-64 bytes. Generated (32 bytes) when absent. ' +
      'Returned in this response and by GET /v1/endpoints/{id}/secret.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  })
  @OptionalNotNull()
  @IsString()
  @MaxLength(200)
  secret?: string;
}
