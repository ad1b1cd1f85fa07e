import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { CoreModule } from '@tern/core';
import { DashboardController } from './dashboard.controller';
import { FormBodyMiddleware } from './form-body.middleware';
import { PortalLinksController } from './portal-links.controller';
import { PortalController } from './portal.controller';
import { WebAssetsController } from './web-assets.controller';
import { WebSessionGuard } from './web-auth';
import { WebErrorFilter } from './web-error.filter';
import { WebRenderer } from './web-renderer';
import { WebSessions } from './web-session';

/**
 * Server-rendered pages served by the API process: the support dashboard (/dashboard, admin and support keys)
 * and the customer portal (/portal, opened through POST /v1/portal-links).
 */
@Module({
  imports: [CoreModule],
  // Assets first: their routes must be registered before the dashboard's catch-all.
  controllers: [WebAssetsController, PortalLinksController, DashboardController, PortalController],
  providers: [WebSessions, WebRenderer, WebSessionGuard, WebErrorFilter],
})
export class WebModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(FormBodyMiddleware).forRoutes(DashboardController, PortalController);
  }
}
