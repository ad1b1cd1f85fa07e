import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { PrismaService } from '@tern/database';
import { DomainError, RedisService } from '@tern/core';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
  ) {}

  /** The process is alive. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Postgres and Redis are reachable; 503 otherwise, naming what is not. */
  @Get('readyz')
  @HealthCheck()
  async readyz() {
    return this.health
      .check([
        () =>
          this.indicators
            .check('postgres')
            .attempt(async () => {
              await this.prisma.$queryRaw`SELECT 1`;
            })
            .withTimeout(2000),
        () =>
          this.indicators
            .check('redis')
            .attempt(() => this.redis.ping())
            .withTimeout(2000),
      ])
      .catch((err: unknown) => {
        // The API's error filter renders {status, error, message}: keep the verdict in the message.
        if (!(err instanceof ServiceUnavailableException)) throw err;
        const details =
          (err.getResponse() as { details?: Record<string, { status?: string }> }).details ?? {};
        const down = Object.keys(details).filter((k) => details[k]?.status !== 'up');
        const up = Object.keys(details).filter((k) => details[k]?.status === 'up');
        throw new DomainError(
          503,
          `Not ready: ${down.join(', ') || 'a dependency'} unreachable` +
            (up.length ? ` (${up.join(', ')} up)` : ''),
        );
      });
  }
}
