import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsString, Matches, ValidateIf } from 'class-validator';
import { TIMESTAMP, TIMESTAMP_MESSAGE } from '../http/query-fields';

export class RecoverDto {
  @ApiProperty({
    format: 'date-time',
    example: '2026-11-24T00:00:00Z',
    description: 'Re-queue failed deliveries created at or after this instant.',
  })
  @IsString()
  @Matches(TIMESTAMP, { message: TIMESTAMP_MESSAGE })
  @IsISO8601({ strict: true }, { message: TIMESTAMP_MESSAGE })
  since: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: '…and before this instant (default: now).',
  })
  @ValidateIf((_o: object, v: unknown) => v !== undefined)
  @IsString()
  @Matches(TIMESTAMP, { message: TIMESTAMP_MESSAGE })
  @IsISO8601({ strict: true }, { message: TIMESTAMP_MESSAGE })
  until?: string;
}
