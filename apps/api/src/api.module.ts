import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ConfigModule } from '@tern/config';
import { CoreModule } from '@tern/core';
import { DatabaseModule } from '@tern/database';
import { ApplicationsController } from './applications/applications.controller';
import { EndpointsController } from './endpoints/endpoints.controller';
import { EventsController } from './events/events.controller';
import { HealthController } from './health/health.controller';
import { ApiErrorFilter } from './http/api-error.filter';
import { AuthGuard } from './http/auth.guard';

@Module({
  imports: [ConfigModule, DatabaseModule, CoreModule, TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, ApplicationsController, EndpointsController, EventsController],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: ApiErrorFilter },
  ],
})
export class ApiModule {}
