import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AppConfig } from '@tern/config';
import { DeliveriesQueryService, DeliveryActionsService, PartitionsService, Principal } from '@tern/core';
import { scopeOf } from '../http/application-scope';
import { Auth, CurrentPrincipal } from '../http/auth.guard';
import { ListQueryDto, pageLimit } from '../http/list-query.dto';
import { parseTimeRange } from '../http/query-fields';
import { SkipPartitionDto } from './partitions.dto';
import { RecoverDto } from './recover.dto';

/** Operations on one endpoint's deliveries (the endpoint itself is managed by EndpointsController). */
@ApiTags('endpoints')
@ApiBearerAuth()
@ApiNotFoundResponse({ description: 'No such endpoint here.' })
@Auth('application', 'admin', 'support')
@Controller('v1/endpoints/:id')
export class EndpointOperationsController {
  constructor(
    private readonly queries: DeliveriesQueryService,
    private readonly actions: DeliveryActionsService,
    private readonly partitions: PartitionsService,
    private readonly config: AppConfig,
  ) {}

  @Get('stats')
  @ApiOperation({
    summary:
      'Attempts, success rate and p50/p95 duration for the last hour, day and week; last error; current ' +
      'failure streak; attempts per hour for the last 24 hours.',
  })
  @ApiOkResponse({ description: '`{ endpointId, generatedAt, windows, lastError, failureStreak, hourly }`' })
  stats(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.queries.endpointStats(scopeOf(p), id);
  }

  @Post('recover')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Re-queue the failed deliveries created in [since, until), oldest first, at most RECOVER_MAX_DELIVERIES ' +
      'per call (`capped`: call again with since = `resumeFrom`).',
  })
  @ApiOkResponse({ description: '`{ requeued, capped, limit, resumeFrom }`' })
  @ApiConflictResponse({ description: 'The endpoint is disabled or deleted.' })
  @ApiUnprocessableEntityResponse({ description: 'Invalid dates, named in `fields[]`.' })
  recover(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: RecoverDto) {
    const { since = new Date(dto.since), until } = parseTimeRange(dto);
    return this.actions.recover(scopeOf(p), id, since, until);
  }

  @Get('blocked-partitions')
  @ApiOperation({
    summary:
      'Keys of an endpoint with ordering partitioned and onFailure block that wait on a delivery which failed for ' +
      'good (in key order).',
  })
  @ApiOkResponse({
    description:
      '`{ data: [{ partitionKey, deliveryId, deliveryStatus, since }], nextCursor }` (cursor: a key).',
  })
  blockedPartitions(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Query() q: ListQueryDto) {
    return this.partitions.blocked(scopeOf(p), id, pageLimit(q, this.config), q.cursor);
  }

  @Post('partitions/skip')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Unblock a key: its blocking delivery stays failed (visible, redeliverable) and the key's next delivery goes.",
  })
  @ApiOkResponse({ description: 'The block removed: `{ partitionKey, deliveryId, deliveryStatus, since }`' })
  @ApiNotFoundResponse({ description: 'No such endpoint here, or the key is not blocked.' })
  @ApiConflictResponse({
    description: 'The blocking delivery is pending again (redelivered): its outcome decides.',
  })
  @ApiUnprocessableEntityResponse({ description: 'partitionKey missing or invalid.' })
  skipPartition(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: SkipPartitionDto) {
    return this.partitions.skip(scopeOf(p), id, dto.partitionKey);
  }

  @Post('test')
  @HttpCode(202)
  @Auth('application', 'admin') // not support: it writes an event into the customer's log
  @ApiOperation({
    summary:
      'Send a "tern.test" event to this endpoint only (whatever its eventTypes), through the normal delivery path.',
  })
  @ApiAcceptedResponse({ description: '`{ eventId, deliveryId }`' })
  @ApiConflictResponse({ description: 'The endpoint is disabled or deleted.' })
  sendTest(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.actions.sendTest(scopeOf(p), id);
  }
}
