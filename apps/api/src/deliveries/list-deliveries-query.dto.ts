import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { DELIVERY_STATUSES, DeliveryStatus, EVENT_TYPE_PATTERN } from '@tern/core';
import { ListQueryDto } from '../http/list-query.dto';
import { ApplicationIdParam, IdParam, TimestampParam } from '../http/query-fields';

export class ListDeliveriesQueryDto extends ListQueryDto {
  @ApplicationIdParam()
  applicationId?: string;

  @IdParam('ep', 'Only deliveries to this endpoint.')
  endpointId?: string;

  @IdParam('evt', 'Only deliveries of this event.')
  eventId?: string;

  @ApiPropertyOptional({ example: 'invoice.paid', description: 'Only deliveries of events of this type.' })
  @IsOptional()
  @IsString()
  @Matches(EVENT_TYPE_PATTERN, { message: 'must be 1-128 letters, digits, "_", ".", ":" or "-"' })
  eventType?: string;

  @ApiPropertyOptional({ enum: DELIVERY_STATUSES, description: 'Only deliveries in this state.' })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES, { message: `must be one of ${DELIVERY_STATUSES.join(', ')}` })
  status?: DeliveryStatus;

  @TimestampParam('Only deliveries created at or after this instant.')
  since?: string;

  @TimestampParam('Only deliveries created before this instant.')
  until?: string;
}
