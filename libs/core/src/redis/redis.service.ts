import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { Redis } from 'ioredis';

/** A fail-fast Redis connection for commands (readiness, rate limits). BullMQ workers open their own. */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;

  constructor(config: AppConfig) {
    this.client = new Redis(config.REDIS_URL, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
    });
    this.client.on('error', () => undefined); // reported through /readyz, reconnects by itself
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    this.client.disconnect();
  }
}
