import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { FilteredEndpoint } from '@tern/delivery-rules';
import { compileStoredFilter } from './endpoint-filter-rules';
import { filterDigest } from './endpoint-filter.sql';
import { EndpointFilterRow, EndpointsRepository } from './endpoints.repository';

/** One application's filtered endpoints, compiled, and the digests of the filters they were compiled from. */
export interface ApplicationFilters {
  endpoints: FilteredEndpoint[];
  /** endpoint id → filterDigest of its filter text (what the fan-out's guard compares). */
  digests: Map<string, string>;
}

const NO_FILTERS: ApplicationFilters = { endpoints: [], digests: new Map() };

interface Entry {
  value: Promise<ApplicationFilters>;
  loadedAt: number;
}

/**
 * The compiled filters of each application's standard endpoints, per API process, for the fan-out at ingest.
 * Entries expire after ENDPOINT_CACHE_TTL_MS and are dropped when this process changes an endpoint; a change made
 * by another process is caught by the fan-out statement's guard (filterGuardCte), which makes the caller reload
 * (invalidate) and write again, so a stale entry never decides a delivery. Concurrent misses share one load, and
 * the misses of one call are loaded in one query.
 */
@Injectable()
export class EndpointFilterCache {
  private readonly logger = new Logger(EndpointFilterCache.name);
  private readonly entries = new Map<string, Entry>();
  private lastSweep = Date.now();

  constructor(
    private readonly config: AppConfig,
    private readonly endpoints: EndpointsRepository,
  ) {}

  /** The filters of each of these applications (keyed by application id). */
  async get(applicationIds: readonly string[]): Promise<Map<string, ApplicationFilters>> {
    const now = Date.now();
    this.sweep(now);
    const ttl = this.config.ENDPOINT_CACHE_TTL_MS;
    const wanted = [...new Set(applicationIds)];
    const missing = wanted.filter((id) => {
      const hit = this.entries.get(id);
      return !hit || now - hit.loadedAt >= ttl;
    });
    if (missing.length > 0) {
      const loaded = this.endpoints.findFilters(missing).then((rows) => this.compile(missing, rows));
      for (const id of missing) {
        const entry = { value: loaded.then((m) => m.get(id) ?? NO_FILTERS), loadedAt: now };
        this.entries.set(id, entry);
        entry.value.catch(() => {
          if (this.entries.get(id) === entry) this.entries.delete(id);
        });
      }
    }
    const values = await Promise.all(wanted.map((id) => this.entries.get(id)!.value));
    return new Map(wanted.map((id, i) => [id, values[i]]));
  }

  /** Drops what is known of these applications: the next get() reads them again. */
  invalidate(applicationIds: readonly string[]): void {
    for (const id of applicationIds) this.entries.delete(id);
  }

  private compile(applicationIds: string[], rows: EndpointFilterRow[]): Map<string, ApplicationFilters> {
    const out = new Map<string, ApplicationFilters>(
      applicationIds.map((id) => [id, { endpoints: [], digests: new Map() }]),
    );
    for (const row of rows) {
      const app = out.get(row.applicationId)!;
      // The guard compares every stored filter, compiled or not: an unreadable one (never written by the API)
      // delivers everything rather than dropping events.
      app.digests.set(row.id, filterDigest(row.filter));
      const compiled = compileStoredFilter(row.filter);
      if (compiled === null) {
        this.logger.error(`endpoint ${row.id}: its stored filter is not a valid filter; it is not applied`);
        continue;
      }
      app.endpoints.push({ endpointId: row.id, eventTypes: row.eventTypes ?? [], filter: compiled });
    }
    return out;
  }

  /** Removes expired entries, at most once per TTL, so applications that stopped sending don't stay in memory. */
  private sweep(now: number): void {
    const ttl = this.config.ENDPOINT_CACHE_TTL_MS;
    if (now - this.lastSweep < ttl) return;
    this.lastSweep = now;
    for (const [id, entry] of this.entries) if (now - entry.loadedAt >= ttl) this.entries.delete(id);
  }
}
