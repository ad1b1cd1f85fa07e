import { Injectable } from '@nestjs/common';
import {
  ApplicationsService,
  DeliveriesQueryService,
  InvalidInputError,
  NotFoundError,
  Principal,
  QueryScope,
} from '@tern/core';

/**
 * Which application(s) a request may see. Application keys: their own, always (another application's ids are
 * 404, as if they did not exist). Admin and support keys: every application, or the one named by an
 * `applicationId` query parameter.
 */
export function scopeOf(p: Principal): QueryScope {
  return p.kind === 'application' ? { applicationId: p.applicationId } : {};
}

@Injectable()
export class ApplicationScope {
  constructor(
    private readonly applications: ApplicationsService,
    private readonly deliveries: DeliveriesQueryService,
  ) {}

  /** Scope of a cross-application list (deliveries, attempts), optionally narrowed by `?applicationId=`. */
  async forQuery(p: Principal, applicationId: string | undefined): Promise<QueryScope> {
    if (applicationId === undefined) return scopeOf(p);
    return { applicationId: await this.checked(p, applicationId) };
  }

  /**
   * The application of an application-scoped list (endpoints, events): the key's own, or for admin and support
   * keys the `applicationId` query parameter, which they must give (422) and which must exist (404).
   */
  async required(p: Principal, applicationId: string | undefined): Promise<string> {
    if (applicationId === undefined) {
      if (p.kind === 'application') return p.applicationId;
      throw new InvalidInputError([
        { field: 'applicationId', reason: `is required with ${p.kind} keys (the application to list)` },
      ]);
    }
    return this.checked(p, applicationId);
  }

  /** The application owning a live endpoint or an event, seen by this key (404 when unknown or not its own). */
  async ownerOf(p: Principal, kind: 'endpoint' | 'event', id: string): Promise<string> {
    if (p.kind === 'application') return p.applicationId;
    return this.deliveries.applicationOf(kind, id);
  }

  private async checked(p: Principal, applicationId: string): Promise<string> {
    if (p.kind === 'application') {
      if (applicationId !== p.applicationId) throw new NotFoundError('application', applicationId);
      return applicationId;
    }
    await this.applications.get(applicationId);
    return applicationId;
  }
}
