import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { SupportKeysService } from '@tern/core';
import { Auth } from '../http/auth.guard';
import { CreateSupportKeyDto } from './create-support-key.dto';

/**
 * Admin: keys for support staff. A support key reads every application's applications, endpoints (not their
 * secrets), events, deliveries, attempts and statistics, and may redeliver and recover; it cannot change
 * endpoints, read or rotate signing secrets, emit events or manage keys.
 */
@ApiTags('support keys')
@ApiBearerAuth()
@Auth('admin')
@Controller('v1/support-keys')
export class SupportKeysController {
  constructor(private readonly supportKeys: SupportKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create a support key; the response carries the key, shown once.' })
  @ApiCreatedResponse({ description: 'The key record with `key`.' })
  create(@Body() dto: CreateSupportKeyDto) {
    return this.supportKeys.create(dto.name);
  }

  @Get()
  @ApiOperation({
    summary: 'Every support key (revoked ones included), newest first; never the keys themselves.',
  })
  @ApiOkResponse({ description: '`{ data: ApiKey[] }`' })
  async list() {
    return { data: await this.supportKeys.list() };
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a support key at once (idempotent).' })
  @ApiOkResponse({ description: 'The key record with `revokedAt`.' })
  @ApiNotFoundResponse({ description: 'No such support key.' })
  revoke(@Param('id') id: string) {
    return this.supportKeys.revoke(id);
  }
}
