import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AppConfig } from '@tern/config';
import { DeliveriesQueryService, Principal } from '@tern/core';
import { ApplicationScope } from '../http/application-scope';
import { Auth, CurrentPrincipal } from '../http/auth.guard';
import { pageLimit } from '../http/list-query.dto';
import { parseTimeRange } from '../http/query-fields';
import { ListAttemptsQueryDto } from './list-attempts-query.dto';

/** The attempt log: every request Tern made, with what came back. */
@ApiTags('deliveries')
@ApiBearerAuth()
@Auth('application', 'admin', 'support')
@Controller('v1/attempts')
export class AttemptsController {
  constructor(
    private readonly queries: DeliveriesQueryService,
    private readonly scopes: ApplicationScope,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List attempts, newest first, by endpoint, event, delivery, outcome, HTTP status and time.',
  })
  @ApiOkResponse({ description: '`{ data: Attempt[], nextCursor }`' })
  @ApiUnprocessableEntityResponse({
    description: 'Invalid or unknown query parameters, named in `fields[]`.',
  })
  @ApiBadRequestResponse({ description: 'A cursor this API did not return.' })
  @ApiNotFoundResponse({
    description: 'The endpoint, event, delivery or application filtered on does not exist here.',
  })
  async list(@CurrentPrincipal() p: Principal, @Query() q: ListAttemptsQueryDto) {
    const limit = pageLimit(q, this.config);
    const range = parseTimeRange(q);
    const scope = await this.scopes.forQuery(p, q.applicationId);
    return this.queries.listAttempts(
      scope,
      {
        ...(q.endpointId !== undefined ? { endpointId: q.endpointId } : {}),
        ...(q.eventId !== undefined ? { eventId: q.eventId } : {}),
        ...(q.deliveryId !== undefined ? { deliveryId: q.deliveryId } : {}),
        ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
        ...(q.statusCode !== undefined ? { statusCode: q.statusCode } : {}),
        ...range,
      },
      limit,
      q.cursor,
    );
  }
}
