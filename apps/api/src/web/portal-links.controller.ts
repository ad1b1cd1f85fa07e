import { Controller, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PortalLinksService, Principal } from '@tern/core';
import type { Request } from 'express';
import { applicationIdOf, Auth, CurrentPrincipal } from '../http/auth.guard';
import { WebSessions } from './web-session';

/** Links that sign a customer in to the application's webhooks portal (/portal) for a while. */
@ApiTags('portal')
@ApiBearerAuth()
@Auth('application')
@Controller('v1/portal-links')
export class PortalLinksController {
  constructor(
    private readonly links: PortalLinksService,
    private readonly sessions: WebSessions,
  ) {}

  @Post()
  @ApiOperation({
    summary:
      "A short-lived link to this application's webhooks portal, for one of your customers: open it in a browser " +
      'to manage endpoints and see deliveries. Valid for PORTAL_LINK_TTL_SECONDS; treat it like a password.',
  })
  @ApiCreatedResponse({ description: '`{ url, expiresAt }`' })
  create(@CurrentPrincipal() p: Principal, @Req() req: Request) {
    return this.links.create(applicationIdOf(p), this.sessions.baseUrl(req));
  }
}
