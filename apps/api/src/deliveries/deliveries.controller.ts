import { Controller, Get, HttpCode, Param, Post, Query, UseInterceptors } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AppConfig } from '@tern/config';
import { DeliveriesQueryService, DeliveryActionsService, Principal } from '@tern/core';
import { ApplicationScope, scopeOf } from '../http/application-scope';
import { Auth, CurrentPrincipal } from '../http/auth.guard';
import { pageLimit } from '../http/list-query.dto';
import { RawJsonInterceptor } from '../http/raw-json.interceptor';
import { parseTimeRange } from '../http/query-fields';
import { ListDeliveriesQueryDto } from './list-deliveries-query.dto';

/** Deliveries (one per event × endpoint): the customer's own, or every application's for admin and support. */
@ApiTags('deliveries')
@ApiBearerAuth()
@Auth('application', 'admin', 'support')
@Controller('v1/deliveries')
export class DeliveriesController {
  constructor(
    private readonly queries: DeliveriesQueryService,
    private readonly actions: DeliveryActionsService,
    private readonly scopes: ApplicationScope,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List deliveries, newest first, by endpoint, event, event type, status and time.',
  })
  @ApiOkResponse({ description: '`{ data: Delivery[], nextCursor }`' })
  @ApiUnprocessableEntityResponse({
    description: 'Invalid or unknown query parameters, named in `fields[]`.',
  })
  @ApiBadRequestResponse({ description: 'A cursor this API did not return.' })
  @ApiNotFoundResponse({ description: 'The endpoint, event or application filtered on does not exist here.' })
  async list(@CurrentPrincipal() p: Principal, @Query() q: ListDeliveriesQueryDto) {
    const limit = pageLimit(q, this.config);
    const range = parseTimeRange(q);
    const scope = await this.scopes.forQuery(p, q.applicationId);
    return this.queries.listDeliveries(
      scope,
      {
        ...(q.endpointId !== undefined ? { endpointId: q.endpointId } : {}),
        ...(q.eventId !== undefined ? { eventId: q.eventId } : {}),
        ...(q.eventType !== undefined ? { eventType: q.eventType } : {}),
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...range,
      },
      limit,
      q.cursor,
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'A delivery with its event (payload included), endpoint and every attempt.' })
  @ApiOkResponse({ description: 'The delivery, `event`, `endpoint` and `attempts` (by number).' })
  @ApiNotFoundResponse({ description: 'No such delivery here.' })
  @UseInterceptors(RawJsonInterceptor) // event.payload: the JSON text as sent
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.queries.getDelivery(scopeOf(p), id);
  }

  @Post(':id/redeliver')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Send a succeeded or failed delivery again (same webhook-id; attempt numbers continue, fresh deadline).',
  })
  @ApiOkResponse({ description: 'The delivery, pending again.' })
  @ApiNotFoundResponse({ description: 'No such delivery here.' })
  @ApiConflictResponse({
    description: 'The delivery is still pending, or its endpoint is disabled or deleted.',
  })
  redeliver(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.actions.redeliver(scopeOf(p), id);
  }
}
