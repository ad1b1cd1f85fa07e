import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../common/errors';
import { IdPrefix, isId } from '../common/ids';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { DeliveriesRepository } from './deliveries.repository';
import type { QueryScope } from '../common/query-scope';
import type { AttemptFilter, DeliveryFilter } from './delivery.model';
import {
  AttemptView,
  DeliveryDetailView,
  DeliveryView,
  EndpointStatsView,
  toAttemptView,
  toDeliveryDetailView,
  toDeliveryView,
  toEndpointStatsView,
} from './deliveries.views';

/**
 * Read side for customers (their application's scope) and support/admin (every application): deliveries,
 * attempts and per-endpoint statistics. Ids that don't exist or lie outside the scope are 404, whether asked for
 * directly or used as a filter. Lists are newest first with an opaque cursor (`nextCursor` of the previous page).
 */
@Injectable()
export class DeliveriesQueryService {
  constructor(private readonly repo: DeliveriesRepository) {}

  async listDeliveries(
    scope: QueryScope,
    filter: DeliveryFilter,
    limit: number,
    cursor?: string,
  ): Promise<Page<DeliveryView>> {
    const after = decodeCursor(cursor, 'dlv');
    await Promise.all([
      this.mustExist('endpoint', 'ep', 'endpoints', scope, filter.endpointId),
      this.mustExist('event', 'evt', 'events', scope, filter.eventId),
    ]);
    return toPage(await this.repo.listDeliveries(scope, filter, limit, after), limit, toDeliveryView);
  }

  async getDelivery(scope: QueryScope, id: string): Promise<DeliveryDetailView> {
    const row = isId('dlv', id) ? await this.repo.findDeliveryDetail(scope, id) : null;
    if (!row) throw new NotFoundError('delivery', id);
    return toDeliveryDetailView(row);
  }

  /** Newest first by startedAt; the cursor is on (startedAt, id). */
  async listAttempts(
    scope: QueryScope,
    filter: AttemptFilter,
    limit: number,
    cursor?: string,
  ): Promise<Page<AttemptView>> {
    const after = decodeCursor(cursor, 'att');
    await Promise.all([
      this.mustExist('endpoint', 'ep', 'endpoints', scope, filter.endpointId),
      this.mustExist('event', 'evt', 'events', scope, filter.eventId),
      this.mustExist('delivery', 'dlv', 'deliveries', scope, filter.deliveryId),
    ]);
    const rows = await this.repo.listAttempts(scope, filter, limit, after);
    return toPage(
      rows.map((row) => ({ row, createdAt: row.startedAt, id: row.id })),
      limit,
      (x) => toAttemptView(x.row),
    );
  }

  /** Hour/day/week figures, last error, failure streak and a 24-hour series (deleted endpoints included). */
  async endpointStats(scope: QueryScope, endpointId: string, now = new Date()): Promise<EndpointStatsView> {
    const endpoint = isId('ep', endpointId) ? await this.repo.findEndpoint(scope, endpointId) : null;
    if (!endpoint) throw new NotFoundError('endpoint', endpointId);
    return toEndpointStatsView(endpointId, now, await this.repo.endpointStats(endpointId, now));
  }

  /**
   * The application a live endpoint or an event belongs to (for admin and support keys reading another
   * application's endpoint or event through the application-scoped services); NotFoundError when there is none.
   */
  async applicationOf(kind: 'endpoint' | 'event' | 'delivery', id: string): Promise<string> {
    const prefix = kind === 'endpoint' ? 'ep' : kind === 'event' ? 'evt' : 'dlv';
    const app = isId(prefix, id) ? await this.repo.applicationOf(kind, id) : null;
    if (!app) throw new NotFoundError(kind, id);
    return app;
  }

  private async mustExist(
    what: string,
    prefix: IdPrefix,
    table: 'endpoints' | 'events' | 'deliveries',
    scope: QueryScope,
    id: string | undefined,
  ): Promise<void> {
    if (id === undefined) return;
    if (!isId(prefix, id) || !(await this.repo.exists(table, scope, id))) throw new NotFoundError(what, id);
  }
}
