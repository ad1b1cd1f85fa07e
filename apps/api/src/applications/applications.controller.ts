import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '@tern/config';
import { ApiKeysService, ApplicationsService, decodeCursor, PortalLinksService } from '@tern/core';
import { Auth } from '../http/auth.guard';
import { ListQueryDto, pageLimit } from '../http/list-query.dto';
import { CreateApiKeyDto, CreateApplicationDto } from './create-application.dto';

@ApiTags('applications')
@ApiBearerAuth()
@Auth('admin')
@Controller('v1/applications')
export class ApplicationsController {
  constructor(
    private readonly applications: ApplicationsService,
    private readonly apiKeys: ApiKeysService,
    private readonly portalLinks: PortalLinksService,
    private readonly config: AppConfig,
  ) {}

  /** Admin: create an application; the response carries its first API key, shown once. */
  @Post()
  create(@Body() dto: CreateApplicationDto) {
    return this.applications.create(dto.name);
  }

  @Get()
  @Auth('admin', 'support')
  list(@Query() q: ListQueryDto) {
    const limit = pageLimit(q, this.config);
    return this.applications.list(limit, decodeCursor(q.cursor, 'app'));
  }

  @Get(':id')
  @Auth('admin', 'support')
  get(@Param('id') id: string) {
    return this.applications.get(id);
  }

  /** Admin: another API key for the application (shown once). */
  @Post(':id/api-keys')
  async createKey(@Param('id') id: string, @Body() dto: CreateApiKeyDto) {
    await this.applications.get(id);
    return this.apiKeys.create(id, 'application', dto.name ?? '');
  }

  @Get(':id/api-keys')
  async listKeys(@Param('id') id: string) {
    await this.applications.get(id);
    return { data: await this.apiKeys.list(id) };
  }

  /** Admin: revoke one of the application's keys; every portal session of the application ends with it. */
  @Post(':id/api-keys/:keyId/revoke')
  @HttpCode(200)
  async revokeKey(@Param('id') id: string, @Param('keyId') keyId: string) {
    await this.applications.get(id);
    return { revoked: await this.apiKeys.revoke(keyId, id) };
  }

  /** Admin: end every portal session of the application now (links not yet opened still work once). */
  @Post(':id/portal-sessions/revoke')
  @HttpCode(204)
  async endPortalSessions(@Param('id') id: string): Promise<void> {
    await this.applications.get(id);
    await this.portalLinks.endSessions(id);
  }
}
