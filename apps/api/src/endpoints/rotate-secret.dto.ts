import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { OptionalNotNull } from './create-endpoint.dto';

export class RotateSecretDto {
  @ApiPropertyOptional({
    description: 'Your own new signing secret: "whsec_" + base64 of 24-64 bytes. Generated when absent.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  })
  @OptionalNotNull()
  @IsString()
  @MaxLength(200)
  secret?: string;
}
