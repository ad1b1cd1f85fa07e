import { Module } from '@nestjs/common';
import { ApiKeysRepository } from './api-keys/api-keys.repository';
import { ApiKeysService } from './api-keys/api-keys.service';
import { ApplicationsRepository } from './applications/applications.repository';
import { ApplicationsService } from './applications/applications.service';
import { EndpointsRepository } from './endpoints/endpoints.repository';
import { EndpointsService } from './endpoints/endpoints.service';
import { RedisService } from './redis/redis.service';
import { EndpointSecretsRepository } from './secrets/endpoint-secrets.repository';
import { EndpointSecretsService } from './secrets/endpoint-secrets.service';
import { EventsRepository } from './events/events.repository';
import { EventsService } from './events/events.service';

const providers = [
  ApiKeysRepository,
  ApiKeysService,
  ApplicationsRepository,
  ApplicationsService,
  EndpointsRepository,
  EndpointsService,
  EndpointSecretsRepository,
  EndpointSecretsService,
  RedisService,
  EventsRepository,
  EventsService,
];

/** Services and repositories shared by the API and the worker. Needs ConfigModule and DatabaseModule. */
@Module({ providers, exports: providers })
export class CoreModule {}
