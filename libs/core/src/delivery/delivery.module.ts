import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { CoreModule } from '../core.module';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { OutboxRepository } from '../outbox/outbox.repository';
import { DELIVERY_QUEUE } from '../queue/queue.constants';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository';
import { DeliveryService } from './delivery.service';
import { EndpointConfigCache } from './endpoint-config-cache';
import { ReconcilerService } from './reconciler.service';

const providers = [
  DeliveryAttemptsRepository,
  DeliveryService,
  EndpointConfigCache,
  OutboxRepository,
  OutboxRelayService,
  ReconcilerService,
];

/** The delivery engine's services (worker only): relay, attempts, reconciler, and the BullMQ queue. */
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
