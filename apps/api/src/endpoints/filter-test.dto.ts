import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsString } from 'class-validator';

/**
 * POST /v1/endpoints/:id/filter/test. Only `eventType` is read from here: `payload` and `filter` are taken as text
 * from the raw body (rawMemberText), as the fan-out and the endpoint's stored filter see them.
 */
export class FilterTestDto {
  @ApiProperty({ example: 'order.paid' })
  @IsString()
  eventType: string;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { total: 120, currency: 'EUR' } })
  @Allow()
  payload: unknown;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: "A filter to try instead of the endpoint's; not stored.",
  })
  @Allow()
  filter?: unknown;
}
