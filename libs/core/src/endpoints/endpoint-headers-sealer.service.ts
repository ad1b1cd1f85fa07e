import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { EndpointsRepository } from './endpoints.repository';

/** Rows sealed per transaction by the boot pass. */
export const HEADER_SEAL_BATCH = 200;

/**
 * At boot (API and worker alike), seals the custom headers of endpoints still stored in clear — written before
 * headers were encrypted at rest. Idempotent; concurrent processes share the rows.
 */
@Injectable()
export class EndpointHeadersSealerService implements OnApplicationBootstrap {
  private readonly logger = new Logger(EndpointHeadersSealerService.name);

  constructor(private readonly endpoints: EndpointsRepository) {}

  async onApplicationBootstrap(): Promise<void> {
    let total = 0;
    for (;;) {
      const n = await this.endpoints.sealStoredHeaders(HEADER_SEAL_BATCH);
      total += n;
      if (n < HEADER_SEAL_BATCH) break;
    }
    if (total > 0) this.logger.log(`sealed the custom headers of ${total} endpoint(s)`);
  }
}
