import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ConfigModule } from '@tern/config';
import { BacklogRepository, BacklogService, CoreModule } from '@tern/core';
import { DatabaseModule } from '@tern/database';
import { ApiMetrics } from '@tern/observability';
import { ApplicationsController } from './applications/applications.controller';
import { EndpointsController } from './endpoints/endpoints.controller';
import { EventsController } from './events/events.controller';
import { HealthController } from './health/health.controller';
import { AttemptsController } from './deliveries/attempts.controller';
import { DeliveriesController } from './deliveries/deliveries.controller';
import { EndpointOperationsController } from './deliveries/endpoint-operations.controller';
import { SupportKeysController } from './support-keys/support-keys.controller';
import { ApplicationScope } from './http/application-scope';
import { ApiErrorFilter } from './http/api-error.filter';
import { AuthGuard } from './http/auth.guard';
import { WebModule } from './web/web.module';
import { MetricsController } from './metrics/metrics.controller';
import { RetentionController } from './retention/retention.controller';

@Module({
  imports: [ConfigModule, DatabaseModule, CoreModule, TerminusModule.forRoot({ logger: false }), WebModule],
  controllers: [
    HealthController,
    ApplicationsController,
    EndpointsController,
    EventsController,
    DeliveriesController,
    AttemptsController,
    EndpointOperationsController,
    SupportKeysController,
    MetricsController,
    RetentionController,
  ],
  providers: [
    ApplicationScope,
    ApiMetrics,
    BacklogRepository,
    BacklogService,
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: ApiErrorFilter },
  ],
})
export class ApiModule {}
