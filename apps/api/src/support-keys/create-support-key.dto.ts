import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class CreateSupportKeyDto {
  @ApiProperty({ example: 'alice (support)', maxLength: 200, description: 'Who or what holds the key.' })
  @IsString()
  @Length(1, 200)
  name: string;
}
