import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  RawBodyRequest,
  Req,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AppConfig } from '@tern/config';
import {
  decodeCursor,
  EndpointSecretsService,
  EndpointsService,
  endpointViewFor,
  Principal,
} from '@tern/core';
import type { Request } from 'express';
import { ApplicationScope } from '../http/application-scope';
import { applicationIdOf, Auth, CurrentPrincipal } from '../http/auth.guard';
import { pageLimit } from '../http/list-query.dto';
import { RawJsonInterceptor } from '../http/raw-json.interceptor';
import { ScopedListQueryDto } from '../http/scoped-list-query.dto';
import { CreateEndpointDto } from './create-endpoint.dto';
import { CreatedEndpointDto, EndpointDto, EndpointPageDto, FilterTestResultDto } from './endpoint-view.dto';
import { rawMemberText } from './filter-body';
import { FilterTestDto } from './filter-test.dto';
import { RotateSecretDto } from './rotate-secret.dto';
import { UpdateEndpointDto } from './update-endpoint.dto';

/**
 * Endpoints of the calling application, and their signing secrets. Request bodies are never logged. Answers that
 * carry an endpoint go through RawJsonInterceptor: its `filter` is the JSON text as sent.
 */
@ApiTags('endpoints')
@ApiBearerAuth()
@Auth('application')
@ApiNotFoundResponse({ description: 'No such endpoint in this application (or it was deleted).' })
@Controller('v1/endpoints')
export class EndpointsController {
  constructor(
    private readonly endpoints: EndpointsService,
    private readonly secrets: EndpointSecretsService,
    private readonly config: AppConfig,
    private readonly scopes: ApplicationScope,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an endpoint; the response carries its signing secret.' })
  @ApiCreatedResponse({ type: CreatedEndpointDto, description: 'The endpoint, with `secret`.' })
  @ApiUnprocessableEntityResponse({ description: 'Invalid fields, named in `fields[]`.' })
  @UseInterceptors(RawJsonInterceptor)
  create(
    @CurrentPrincipal() p: Principal,
    @Body() dto: CreateEndpointDto,
    @Req() req: RawBodyRequest<Request>,
  ) {
    return this.endpoints.create(applicationIdOf(p), withRawFilter(dto, req));
  }

  @Get()
  @Auth('application', 'admin', 'support')
  @ApiOperation({ summary: 'List endpoints, newest first.' })
  @ApiOkResponse({ type: EndpointPageDto, description: '`{ data, nextCursor }`' })
  @UseInterceptors(RawJsonInterceptor)
  async list(@CurrentPrincipal() p: Principal, @Query() q: ScopedListQueryDto) {
    const limit = pageLimit(q, this.config);
    const applicationId = await this.scopes.required(p, q.applicationId);
    const page = await this.endpoints.list(applicationId, limit, decodeCursor(q.cursor, 'ep'));
    return { ...page, data: page.data.map((v) => endpointViewFor(p.kind, v)) };
  }

  @Get(':id')
  @Auth('application', 'admin', 'support')
  @ApiOperation({ summary: 'One endpoint, with its circuit breaker state.' })
  @ApiOkResponse({ type: EndpointDto })
  @UseInterceptors(RawJsonInterceptor)
  async get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return endpointViewFor(
      p.kind,
      await this.endpoints.get(await this.scopes.ownerOf(p, 'endpoint', id), id),
    );
  }

  @Patch(':id')
  @ApiOperation({
    summary:
      'Change some fields. Disabling fails the pending deliveries; re-enabling affects new events only.',
  })
  @ApiOkResponse({ type: EndpointDto, description: 'The endpoint as it is now.' })
  @ApiUnprocessableEntityResponse({ description: 'Invalid fields, named in `fields[]`.' })
  @UseInterceptors(RawJsonInterceptor)
  update(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() dto: UpdateEndpointDto,
    @Req() req: RawBodyRequest<Request>,
  ) {
    return this.endpoints.update(applicationIdOf(p), id, withRawFilter(dto, req));
  }

  @Post(':id/filter/test')
  @Auth('application', 'admin', 'support')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Whether the endpoint's filter (or the `filter` given, tried instead) lets an event through, and why. " +
      'Changes nothing.',
  })
  @ApiOkResponse({ type: FilterTestResultDto })
  @ApiUnprocessableEntityResponse({
    description: 'Invalid eventType, payload or filter, named in `fields[]`.',
  })
  @UseInterceptors(RawJsonInterceptor)
  async testFilter(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() dto: FilterTestDto,
    @Req() req: RawBodyRequest<Request>,
  ) {
    const filter = rawMemberText(req, 'filter');
    // Reads only (nothing is stored or sent): admin and support keys may try filters too, as they read them.
    return this.endpoints.testFilter(await this.scopes.ownerOf(p, 'endpoint', id), id, {
      eventType: dto.eventType,
      payload: rawMemberText(req, 'payload') ?? '',
      ...(filter === undefined || filter === null ? {} : { filter }),
    });
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an endpoint; its pending deliveries fail.' })
  @ApiNoContentResponse()
  async remove(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<void> {
    await this.endpoints.delete(applicationIdOf(p), id);
  }

  @Get(':id/secret')
  @ApiOperation({ summary: 'The current signing secret.' })
  @ApiOkResponse({ description: '`{ secret, createdAt }`' })
  getSecret(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.secrets.get(applicationIdOf(p), id);
  }

  @Post(':id/secret/rotate')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Replace the signing secret. The previous one keeps signing for SECRET_ROTATION_OVERLAP_SECONDS.',
  })
  @ApiOkResponse({ description: 'The new current secret: `{ secret, createdAt }`' })
  @ApiUnprocessableEntityResponse({ description: 'The given secret is not a valid "whsec_" secret.' })
  rotateSecret(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: RotateSecretDto) {
    return this.secrets.rotate(applicationIdOf(p), id, dto.secret);
  }
}

/** The DTO with `filter` replaced by its text in the raw body (see rawMemberText); absent stays absent. */
function withRawFilter<T extends { filter?: unknown }>(
  dto: T,
  req: RawBodyRequest<Request>,
): Omit<T, 'filter'> & { filter?: string | null } {
  const { filter: _parsed, ...rest } = dto;
  const filter = rawMemberText(req, 'filter');
  return filter === undefined ? rest : { ...rest, filter };
}
