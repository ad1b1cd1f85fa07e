import { Module } from '@nestjs/common';
import { ConfigModule } from '@tern/config';
import { DeliveryModule } from '@tern/core';
import { DatabaseModule } from '@tern/database';
import { DeliveryProcessor } from './delivery/delivery.processor';
import { WorkerMetricsServer } from './metrics/worker-metrics.server';

@Module({
  imports: [ConfigModule, DatabaseModule, DeliveryModule],
  providers: [DeliveryProcessor, WorkerMetricsServer],
})
export class WorkerModule {}
