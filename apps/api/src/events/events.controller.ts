import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  RawBodyRequest,
  Req,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AppConfig } from '@tern/config';
import {
  decodeCursor,
  EventsService,
  IDEMPOTENCY_KEY_PATTERN,
  InvalidInputError,
  Principal,
} from '@tern/core';
import { ApiMetrics } from '@tern/observability';
import type { Request, Response } from 'express';
import { ApplicationScope } from '../http/application-scope';
import { RawJsonInterceptor } from '../http/raw-json.interceptor';
import { applicationIdOf, Auth, CurrentPrincipal } from '../http/auth.guard';
import { pageLimit } from '../http/list-query.dto';
import { ScopedListEventsQueryDto } from '../http/scoped-list-query.dto';
import { BatchResultDto, CreateEventBatchDto } from './create-event-batch.dto';
import { AcceptedEventDto, CreateEventDto, IDEMPOTENCY_KEY_MESSAGE } from './create-event.dto';
import { ParsedEventInput, withPayloadTexts } from './event-body';
import { EventInputPipe } from './event-input.pipe';

const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** Event ingestion (the producer side) and the event log of the calling application. */
@ApiTags('events')
@ApiBearerAuth()
@Auth('application')
@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly config: AppConfig,
    private readonly scopes: ApplicationScope,
    private readonly metrics: ApiMetrics,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Accept an event: it is stored with one delivery per subscribed endpoint, atomically.',
  })
  @ApiBody({ type: CreateEventDto })
  @ApiHeader({ name: IDEMPOTENCY_HEADER, required: false, description: 'Same as the idempotencyKey field.' })
  @ApiAcceptedResponse({ type: AcceptedEventDto, description: 'Stored; deliveries are on their way.' })
  @ApiOkResponse({ type: AcceptedEventDto, description: 'Key seen within the window: the original event.' })
  @ApiUnprocessableEntityResponse({ description: 'Invalid fields, named in `fields[]`.' })
  @ApiPayloadTooLargeResponse({ description: 'Payload above MAX_PAYLOAD_BYTES, or body too large.' })
  async create(
    @CurrentPrincipal() p: Principal,
    // Typed as an interface, not the DTO: EventInputPipe validates it (the global pipe skips it).
    @Body(EventInputPipe.single()) body: ParsedEventInput,
    @Headers('idempotency-key') header: string | undefined,
    @Req() req: RawBodyRequest<Request>,
    @Res({ passthrough: true }) res: Response,
  ) {
    const [parsed] = withPayloadTexts(req, [body], 'single');
    const input = { ...parsed, ...idempotencyKeyOf(body.idempotencyKey, header) };
    const { event, created, filteredCount } = await this.events.create(applicationIdOf(p), input);
    (created ? this.metrics.eventsAccepted : this.metrics.eventsDuplicate).inc({ mode: 'single' });
    if (filteredCount) this.metrics.deliveriesFiltered.inc(filteredCount);
    if (!created) {
      res.status(200);
      res.setHeader('Idempotent-Replayed', 'true');
    }
    return event;
  }

  @Post('batch')
  @HttpCode(202)
  @ApiOperation({ summary: 'Accept up to MAX_BATCH_SIZE events in one transaction (all or nothing).' })
  @ApiBody({ type: CreateEventBatchDto })
  @ApiAcceptedResponse({ type: BatchResultDto })
  @ApiUnprocessableEntityResponse({
    description: 'Invalid items, named as `events[i].field`; nothing written.',
  })
  @ApiPayloadTooLargeResponse({ description: 'A payload above MAX_PAYLOAD_BYTES, or body too large.' })
  async createBatch(
    @CurrentPrincipal() p: Principal,
    @Body(EventInputPipe.batch()) body: { events: ParsedEventInput[] },
    @Headers('idempotency-key') header: string | undefined,
    @Req() req: RawBodyRequest<Request>,
  ) {
    if (header !== undefined) {
      throw new InvalidInputError([
        { field: IDEMPOTENCY_HEADER, reason: 'is not accepted on batches: set idempotencyKey on each event' },
      ]);
    }
    const { data, filteredCount } = await this.events.createBatch(
      applicationIdOf(p),
      withPayloadTexts(req, body.events, 'batch'),
    );
    const duplicates = data.filter((e) => e.duplicate).length;
    const accepted = data.length - duplicates;
    if (accepted) this.metrics.eventsAccepted.inc({ mode: 'batch' }, accepted);
    if (duplicates) this.metrics.eventsDuplicate.inc({ mode: 'batch' }, duplicates);
    if (filteredCount) this.metrics.deliveriesFiltered.inc(filteredCount);
    return { data };
  }

  @Get()
  @Auth('application', 'admin', 'support')
  @ApiOperation({ summary: 'List events, newest first (without payloads).' })
  @ApiOkResponse({ description: '`{ data, nextCursor }`' })
  async list(@CurrentPrincipal() p: Principal, @Query() q: ScopedListEventsQueryDto) {
    const limit = pageLimit(q, this.config);
    const since = q.since === undefined ? undefined : new Date(q.since);
    const until = q.until === undefined ? undefined : new Date(q.until);
    const bad = [
      ...(since && Number.isNaN(since.getTime()) ? [{ field: 'since', reason: 'is not a valid date' }] : []),
      ...(until && Number.isNaN(until.getTime()) ? [{ field: 'until', reason: 'is not a valid date' }] : []),
    ];
    if (bad.length > 0) throw new InvalidInputError(bad);
    const after = decodeCursor(q.cursor, 'evt');
    return this.events.list(
      await this.scopes.required(p, q.applicationId),
      {
        ...(q.eventType !== undefined ? { eventType: q.eventType } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
      },
      limit,
      after,
    );
  }

  @Get(':id')
  @Auth('application', 'admin', 'support')
  @ApiOperation({ summary: 'An event with its payload and deliveries.' })
  @ApiOkResponse({
    description: 'The event, with `payload` (the JSON text exactly as it was sent) and `deliveries[]`.',
  })
  @ApiNotFoundResponse({ description: 'No such event in this application.' })
  @UseInterceptors(RawJsonInterceptor)
  async get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.events.get(await this.scopes.ownerOf(p, 'event', id), id);
  }
}

/** The key from the body or the header; both given must agree. */
function idempotencyKeyOf(
  fromBody: string | undefined,
  header: string | undefined,
): { idempotencyKey?: string } {
  if (header === undefined) return fromBody === undefined ? {} : { idempotencyKey: fromBody };
  if (!IDEMPOTENCY_KEY_PATTERN.test(header)) {
    throw new InvalidInputError([{ field: IDEMPOTENCY_HEADER, reason: IDEMPOTENCY_KEY_MESSAGE }]);
  }
  if (fromBody !== undefined && fromBody !== header) {
    throw new InvalidInputError([
      { field: 'idempotencyKey', reason: `differs from the ${IDEMPOTENCY_HEADER} header` },
    ]);
  }
  return { idempotencyKey: header };
}
