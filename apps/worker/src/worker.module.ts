import { Module } from '@nestjs/common';
import { ConfigModule } from '@tern/config';
import { DeliveryModule } from '@tern/core';
import { DatabaseModule } from '@tern/database';
import { DeliveryProcessor } from './delivery/delivery.processor';

@Module({ imports: [ConfigModule, DatabaseModule, DeliveryModule], providers: [DeliveryProcessor] })
export class WorkerModule {}
