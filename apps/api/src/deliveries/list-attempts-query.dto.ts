import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { ATTEMPT_OUTCOMES, AttemptOutcome } from '@tern/core';
import { ListQueryDto } from '../http/list-query.dto';
import { ApplicationIdParam, IdParam, TimestampParam } from '../http/query-fields';

export class ListAttemptsQueryDto extends ListQueryDto {
  @ApplicationIdParam()
  applicationId?: string;

  @IdParam('ep', 'Only attempts to this endpoint.')
  endpointId?: string;

  @IdParam('evt', 'Only attempts of this event.')
  eventId?: string;

  @IdParam('dlv', 'Only attempts of this delivery.')
  deliveryId?: string;

  @ApiPropertyOptional({ enum: ATTEMPT_OUTCOMES, description: 'Only attempts with this outcome.' })
  @IsOptional()
  @IsIn(ATTEMPT_OUTCOMES, { message: `must be one of ${ATTEMPT_OUTCOMES.join(', ')}` })
  outcome?: AttemptOutcome;

  @ApiPropertyOptional({
    minimum: 100,
    maximum: 599,
    example: 503,
    description: 'Only attempts the receiver answered with this HTTP status.',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(599)
  statusCode?: number;

  @TimestampParam('Only attempts started at or after this instant.')
  since?: string;

  @TimestampParam('Only attempts started before this instant.')
  until?: string;
}
