import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { PARTITION_KEY_MAX_LENGTH, PARTITION_KEY_PATTERN, PARTITION_KEY_REASON } from '@tern/core';

export class SkipPartitionDto {
  @ApiProperty({ example: 'customer-42', minLength: 1, maxLength: PARTITION_KEY_MAX_LENGTH })
  @IsString()
  @Matches(PARTITION_KEY_PATTERN, { message: PARTITION_KEY_REASON })
  partitionKey: string;
}
