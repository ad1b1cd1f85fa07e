export * from './common';
export * from './core.module';
export * from './redis/redis.service';
export * from './api-keys/api-key-token';
export * from './api-keys/api-keys.repository';
export * from './api-keys/api-keys.service';
export * from './applications/applications.repository';
export * from './applications/applications.service';
