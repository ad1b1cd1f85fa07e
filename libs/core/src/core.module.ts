import { Module } from '@nestjs/common';
import { ApiKeysRepository } from './api-keys/api-keys.repository';
import { ApiKeysService } from './api-keys/api-keys.service';
import { ApplicationsRepository } from './applications/applications.repository';
import { ApplicationsService } from './applications/applications.service';
import { RedisService } from './redis/redis.service';

const providers = [
  ApiKeysRepository,
  ApiKeysService,
  ApplicationsRepository,
  ApplicationsService,
  RedisService,
];

/** Services and repositories shared by the API and the worker. Needs ConfigModule and DatabaseModule. */
@Module({ providers, exports: providers })
export class CoreModule {}
