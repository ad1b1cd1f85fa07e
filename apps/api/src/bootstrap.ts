import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppConfig } from '@tern/config';
import { ApiKeysService, AuthThrottle } from '@tern/core';
import { ApiMetrics, createLogger, PinoNestLogger, resolveLogFormat } from '@tern/observability';
import { randomUUID } from 'node:crypto';
import pinoHttp from 'pino-http';
import { ApiModule } from './api.module';
import { apiAuthentication } from './http/api-authentication.middleware';
import { createValidationPipe } from './http/validation.pipe';
import { httpMetrics } from './metrics/http-metrics.middleware';

/** Builds the API application exactly as main.ts serves it (tests use this too). */
export async function createApiApp(config: AppConfig): Promise<INestApplication> {
  const logger = createLogger(config.LOG_LEVEL, 'tern-api', { format: resolveLogFormat(config.LOG_FORMAT) });
  const app = await NestFactory.create<NestExpressApplication>(ApiModule, {
    bodyParser: false,
    rawBody: true, // req.rawBody: the events routes keep each payload's bytes as sent (see events/event-body.ts)
    abortOnError: false, // throw (tests see why) instead of process.exit inside Nest
    logger: new PinoNestLogger(logger),
  });
  app.set('trust proxy', false);
  app.disable('x-powered-by');
  app.use(httpMetrics(app.get(ApiMetrics)));
  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      autoLogging: { ignore: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url ?? '') },
    }),
  );
  // Ahead of the body parser: a /v1 request without a valid key is answered before its body is read.
  app.use('/v1', apiAuthentication(app.get(ApiKeysService), app.get(AuthThrottle)));
  app.useBodyParser('json', { limit: config.MAX_REQUEST_BODY_BYTES, strict: true });
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();

  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tern')
      .setDescription('Outbound webhook delivery: events in, signed POSTs out, every attempt on record.')
      .setVersion(process.env.npm_package_version ?? '0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'openapi.json' });
  return app;
}
