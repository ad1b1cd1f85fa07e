import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, Matches } from 'class-validator';
import { EVENT_TYPE_PATTERN } from '@tern/core';
import { ListQueryDto } from '../http/list-query.dto';
import { EVENT_TYPE_MESSAGE } from './create-event.dto';

/** A date, or a date-time with seconds optional, fractions optional and a zone (Z or ±hh:mm) required. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const TIMESTAMP_MESSAGE =
  'must be an ISO 8601 date (2026-01-31) or date-time with a zone (2026-01-31T12:00:00Z)';

export class ListEventsQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ example: 'invoice.paid', description: 'Only events of this type.' })
  @IsOptional()
  @IsString()
  @Matches(EVENT_TYPE_PATTERN, { message: EVENT_TYPE_MESSAGE })
  eventType?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only events created at or after this instant.' })
  @IsOptional()
  @IsString()
  @Matches(TIMESTAMP, { message: TIMESTAMP_MESSAGE })
  @IsISO8601({ strict: true }, { message: TIMESTAMP_MESSAGE })
  since?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only events created before this instant.' })
  @IsOptional()
  @IsString()
  @Matches(TIMESTAMP, { message: TIMESTAMP_MESSAGE })
  @IsISO8601({ strict: true }, { message: TIMESTAMP_MESSAGE })
  until?: string;
}
