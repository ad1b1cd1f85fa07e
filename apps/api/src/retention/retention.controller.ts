import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Principal, RetentionQueryService } from '@tern/core';
import { Auth, CurrentPrincipal } from '../http/auth.guard';

/** How far back history goes: the retention setting and the oldest event and attempt still stored. */
@ApiTags('retention')
@ApiBearerAuth()
@Controller('v1/retention')
export class RetentionController {
  constructor(private readonly retention: RetentionQueryService) {}

  @Get()
  @Auth('application', 'admin', 'support')
  @ApiOperation({
    summary:
      'Retention: events and attempts older than retentionDays are deleted (0 = never). The oldest dates are of ' +
      "the caller's application (application keys) or of all applications (admin and support keys).",
  })
  @ApiOkResponse({ description: '`{ retentionDays, oldestEventAt, oldestAttemptAt }`' })
  get(@CurrentPrincipal() p: Principal) {
    return this.retention.describe(p.kind === 'application' ? p.applicationId : null);
  }
}
