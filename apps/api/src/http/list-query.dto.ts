import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { AppConfig } from '@tern/config';

/** Common to every list: `limit` (default PAGE_SIZE_DEFAULT, max PAGE_SIZE_MAX) and an opaque `cursor`. */
export class ListQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, description: 'Page size (capped by PAGE_SIZE_MAX)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

/** The page size of a list request: `limit`, or PAGE_SIZE_DEFAULT, capped by PAGE_SIZE_MAX. */
export function pageLimit(q: ListQueryDto, config: AppConfig): number {
  return Math.min(q.limit ?? config.PAGE_SIZE_DEFAULT, config.PAGE_SIZE_MAX);
}
