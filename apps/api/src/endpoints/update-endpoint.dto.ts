import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import {
  ENDPOINT_DESCRIPTION_MAX_LENGTH,
  ENDPOINT_EVENT_TYPES_MAX,
  ENDPOINT_URL_MAX_LENGTH,
  EVENT_TYPE_PATTERN,
  RATE_LIMIT_PER_SECOND_MAX,
} from '@tern/core';
import {
  DESCRIPTION_DOC,
  DISABLED_DOC,
  EVENT_TYPE_MESSAGE,
  EVENT_TYPES_DOC,
  HEADERS_DOC,
  OptionalNotNull,
  RATE_LIMIT_DOC,
  rawHeaders,
  URL_DOC,
} from './create-endpoint.dto';

/** PATCH: only the fields given change; `headers` replaces the whole set. */
export class UpdateEndpointDto {
  @ApiPropertyOptional(URL_DOC)
  @OptionalNotNull()
  @IsString()
  @MinLength(1)
  @MaxLength(ENDPOINT_URL_MAX_LENGTH)
  url?: string;

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

  @ApiPropertyOptional({
    ...DISABLED_DOC,
    description:
      "true: the endpoint's pending deliveries fail at once (last_error endpoint_disabled); " +
      'false: re-enables it for events accepted from then on.',
  })
  @OptionalNotNull()
  @IsBoolean()
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
}
