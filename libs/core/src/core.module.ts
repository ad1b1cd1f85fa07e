import { Module } from '@nestjs/common';
import { ApiKeysRepository } from './api-keys/api-keys.repository';
import { ApiKeysService } from './api-keys/api-keys.service';
import { AuthThrottle } from './api-keys/auth-throttle.service';
import { PortalSessionsRepository } from './portal/portal-sessions.repository';
import { ApplicationsRepository } from './applications/applications.repository';
import { ApplicationsService } from './applications/applications.service';
import { EndpointFilterCache } from './endpoints/endpoint-filter-cache';
import { EndpointHeadersSealerService } from './endpoints/endpoint-headers-sealer.service';
import { EndpointsRepository } from './endpoints/endpoints.repository';
import { EndpointsService } from './endpoints/endpoints.service';
import { RedisService } from './redis/redis.service';
import { EndpointSecretsRepository } from './secrets/endpoint-secrets.repository';
import { EndpointSecretsService } from './secrets/endpoint-secrets.service';
import { EndpointHeadersCipher } from './secrets/endpoint-headers-cipher';
import { EventsRepository } from './events/events.repository';
import { EventsService } from './events/events.service';
import { RetentionQueryService } from './retention/retention-query.service';
import { RetentionRepository } from './retention/retention.repository';
import { EndpointUrlSearchRepository } from './portal/endpoint-url-search.repository';
import { EndpointUrlSearchService } from './portal/endpoint-url-search.service';
import { PortalLinksService } from './portal/portal-links.service';
import { DeliveriesRepository } from './deliveries/deliveries.repository';
import { DeliveriesQueryService } from './deliveries/deliveries-query.service';
import { DeliveryActionsService } from './deliveries/delivery-actions.service';
import { SupportKeysRepository } from './api-keys/support-keys.repository';
import { SupportKeysService } from './api-keys/support-keys.service';
import { PartitionBlocksRepository } from './ordering/partition-blocks.repository';
import { PartitionsService } from './ordering/partitions.service';

const providers = [
  ApiKeysRepository,
  ApiKeysService,
  AuthThrottle,
  ApplicationsRepository,
  ApplicationsService,
  EndpointHeadersCipher,
  EndpointFilterCache,
  EndpointHeadersSealerService,
  EndpointsRepository,
  EndpointsService,
  EndpointSecretsRepository,
  EndpointSecretsService,
  RedisService,
  EventsRepository,
  EventsService,
  RetentionRepository,
  RetentionQueryService,
  PortalLinksService,
  PortalSessionsRepository,
  EndpointUrlSearchRepository,
  EndpointUrlSearchService,
  DeliveriesRepository,
  DeliveriesQueryService,
  DeliveryActionsService,
  SupportKeysRepository,
  SupportKeysService,
  PartitionBlocksRepository,
  PartitionsService,
];

/** Services and repositories shared by the API and the worker. Needs ConfigModule and DatabaseModule. */
@Module({ providers, exports: providers })
export class CoreModule {}
