import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, ValidateNested } from 'class-validator';
import { AcceptedEventDto, CreateEventDto } from './create-event.dto';

export class CreateEventBatchDto {
  @ApiProperty({
    type: [CreateEventDto],
    minItems: 1,
    description:
      'Up to MAX_BATCH_SIZE events. All are checked before any is written (a bad one: 422 naming ' +
      '`events[i].field`, nothing written); then all are written in one transaction. Keys must differ within a batch.',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => CreateEventDto)
  events: CreateEventDto[];
}

/** One item of the answer to POST /v1/events/batch (Swagger only). */
export class BatchItemDto extends AcceptedEventDto {
  @ApiProperty({ description: 'True: the key was used within the window; this is the original event.' })
  duplicate: boolean;
}

export class BatchResultDto {
  @ApiProperty({ type: [BatchItemDto], description: 'In the order of the request.' })
  data: BatchItemDto[];
}
