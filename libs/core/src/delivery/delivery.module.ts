import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { WorkerMetrics } from '@tern/observability';
import { CoreModule } from '../core.module';
import { DispatchRepository } from '../dispatch/dispatch.repository';
import { DispatcherService } from '../dispatch/dispatcher.service';
import { DELIVERY_QUEUE } from '../queue/queue.constants';
import { RetentionService } from '../retention/retention.service';
import { ATTEMPT_SENDER, webhookSenderFor } from './attempt-sender';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository';
import { DeliveryObserver } from './delivery-observer';
import { DeliveryService } from './delivery.service';
import { EndpointConfigCache } from './endpoint-config-cache';
import { ReconcilerService } from './reconciler.service';

const providers = [
  DeliveryAttemptsRepository,
  DeliveryService,
  EndpointConfigCache,
  DispatchRepository,
  DispatcherService,
  ReconcilerService,
  RetentionService,
  DeliveryObserver,
  WorkerMetrics,
  { provide: ATTEMPT_SENDER, inject: [AppConfig], useFactory: webhookSenderFor },
];

/**
 * The delivery engine's services (worker only): dispatcher, attempts, reconciler, retention purge, the worker's
 * metrics, and the BullMQ queue.
 */
@Module({
  imports: [
    CoreModule,
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: { url: config.REDIS_URL },
        prefix: config.QUEUE_PREFIX,
      }),
    }),
    BullModule.registerQueue({ name: DELIVERY_QUEUE }),
  ],
  providers,
  exports: [...providers, BullModule],
})
export class DeliveryModule {}
