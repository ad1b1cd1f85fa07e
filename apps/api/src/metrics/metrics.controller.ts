import { Controller, Get, Headers, Res, UnauthorizedException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AppConfig } from '@tern/config';
import { BacklogService } from '@tern/core';
import { ApiMetrics, metricsAccessAllowed } from '@tern/observability';
import type { Response } from 'express';

/** Prometheus metrics of this API process, plus the global backlog read at scrape time. */
@ApiTags('health')
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: ApiMetrics,
    private readonly backlog: BacklogService,
    private readonly config: AppConfig,
  ) {}

  @Get('metrics')
  @ApiOperation({
    summary:
      'Prometheus metrics (text format). Public, unless METRICS_TOKEN is set: then "Authorization: Bearer <token>".',
  })
  @ApiOkResponse({ description: 'Prometheus text exposition format.' })
  @ApiUnauthorizedResponse({ description: 'METRICS_TOKEN is set and the request did not carry it.' })
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    if (!metricsAccessAllowed(this.config.METRICS_TOKEN, authorization)) {
      throw new UnauthorizedException(
        'Missing or wrong metrics token: send "Authorization: Bearer <METRICS_TOKEN>"',
      );
    }
    this.metrics.setBacklog(await this.backlog.snapshot());
    res.setHeader('content-type', this.metrics.contentType);
    res.send(await this.metrics.text());
  }
}
