import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class CreateApplicationDto {
  @ApiProperty({ example: 'Acme Billing', maxLength: 200 })
  @IsString()
  @Length(1, 200)
  name: string;
}

export class CreateApiKeyDto {
  @ApiProperty({ required: false, example: 'ci', maxLength: 200 })
  @IsString()
  @Length(0, 200)
  name?: string;
}
