import { Module } from '@nestjs/common';
import { ConfigModule } from '@tern/config';
import { CoreModule } from '@tern/core';
import { DatabaseModule } from '@tern/database';

@Module({ imports: [ConfigModule, DatabaseModule, CoreModule] })
export class WorkerModule {}
