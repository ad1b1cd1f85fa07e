import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';
import { CIRCUIT_STATES, CircuitState } from '@tern/delivery-rules';

export interface DatabaseBacklog {
  /** Pending deliveries waiting in Postgres to be released (due or not). */
  deliveriesReleasable: number;
  /** Pending deliveries released to workers and not yet recorded. */
  deliveriesOutstanding: number;
  /** Seconds the oldest due, unreleased delivery has been due; 0 when none. */
  dispatchLagSeconds: number;
  deliveriesPending: number;
  /**
   * Live, enabled endpoints by circuit state, every state present (0 when none); an endpoint without an
   * endpoint_states row is closed. Disabled endpoints are left out: they get no deliveries, and one disabled
   * for failing would otherwise count as open for good.
   */
  endpointCircuits: Record<CircuitState, number>;
}

@Injectable()
export class BacklogRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * One statement, read through the partial indexes of the releasable and released deliveries; the circuits by a
   * scan of the live endpoints joined to endpoint_states by primary key (one row per endpoint).
   */
  async read(): Promise<DatabaseBacklog> {
    const [row] = await this.prisma.$queryRaw<
      {
        releasable: number;
        outstanding: number;
        lag: number | null;
        pending: number;
        circuits: Partial<Record<string, number>> | null;
      }[]
    >`
      -- Releasable: unordered (deliveries_releasable_idx) and ordered (deliveries_partition_idx), each by its index.
      SELECT ((SELECT count(*) FROM deliveries
               WHERE status = 'pending' AND released_at IS NULL AND partition_key IS NULL)
              + (SELECT count(*) FROM deliveries
                 WHERE status = 'pending' AND released_at IS NULL AND partition_key IS NOT NULL))::int AS releasable,
             (SELECT count(*) FROM deliveries WHERE status = 'pending' AND released_at IS NOT NULL)::int
               AS outstanding,
             (SELECT EXTRACT(EPOCH FROM (now() - min(next_attempt_at)))::float8
                FROM deliveries
                WHERE status = 'pending' AND released_at IS NULL AND partition_key IS NULL
                  AND next_attempt_at <= now()) AS lag,
             (SELECT count(*) FROM deliveries WHERE status = 'pending')::int AS pending,
             (SELECT jsonb_object_agg(c.state, c.n) FROM (
                SELECT coalesce(s.circuit_state::text, 'closed') AS state, count(*)::int AS n
                FROM endpoints e LEFT JOIN endpoint_states s ON s.endpoint_id = e.id
                WHERE e.deleted_at IS NULL AND NOT e.disabled
                GROUP BY 1) c) AS circuits`;
    return {
      deliveriesReleasable: row?.releasable ?? 0,
      deliveriesOutstanding: row?.outstanding ?? 0,
      dispatchLagSeconds: Math.max(0, row?.lag ?? 0),
      deliveriesPending: row?.pending ?? 0,
      endpointCircuits: Object.fromEntries(
        CIRCUIT_STATES.map((state) => [state, row?.circuits?.[state] ?? 0]),
      ) as Record<CircuitState, number>,
    };
  }
}
