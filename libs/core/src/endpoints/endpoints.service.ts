import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import {
  AddressPolicy,
  checkUrlDestination,
  CircuitState,
  CompiledFilter,
  explainFilter,
  FilterLimits,
  PortPolicy,
  portProblem,
  redactHeaderValues,
} from '@tern/delivery-rules';
import { FieldProblem, InvalidInputError, NotFoundError } from '../common/errors';
import { RawJson } from '../common/raw-json';
import { isId, newId } from '../common/ids';
import type { PrincipalKind } from '../common/principal';
import { Page, PageCursor, toPage } from '../common/pagination';
import { EndpointSecretsService } from '../secrets/endpoint-secrets.service';
import { webhookSecretProblem } from '../secrets/webhook-secret';
import type { EndpointCircuit } from './endpoint-circuit';
import { EVENT_TYPE_PATTERN, checkEndpointHeaders, checkEndpointUrl } from './endpoint-rules';
import { EndpointFilterCache } from './endpoint-filter-cache';
import { checkFilterText, compileStoredFilter } from './endpoint-filter-rules';
import {
  DEFAULT_ENDPOINT_ORDERING,
  DEFAULT_ORDERING_ON_FAILURE,
  EndpointOrdering,
  OrderingOnFailure,
} from '../ordering/ordering.model';
import { EndpointChanges, EndpointKind, EndpointRecord, EndpointsRepository } from './endpoints.repository';

/**
 * The endpoint's circuit breaker (dispatcher-managed, read-only). `open`: repeated failed attempts stopped its
 * deliveries, which wait in Tern until a probe succeeds; `half_open`: one probe is out. `openedAt` and
 * `nextProbeAt` (when the next probe may go) are null when `closed`.
 */
export interface EndpointCircuitView {
  state: CircuitState;
  openedAt: string | null;
  nextProbeAt: string | null;
}

export interface EndpointView {
  id: string;
  applicationId: string;
  url: string;
  /** standard: the application's events; operational: Tern's operational events (endpoint.disabled, …). */
  kind: EndpointKind;
  description: string;
  /** Empty = every event type. */
  eventTypes: string[];
  disabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  rateLimitPerSecond: number | null;
  /** Most deliveries released at once across all workers; null = ENDPOINT_MAX_IN_FLIGHT. */
  maxInFlight: number | null;
  headers: Record<string, string>;
  /** The payload filter as the application sent it (serialised byte for byte by stringifyWithRawJson); null = none. */
  filter: RawJson | null;
  /** none, or partitioned: one delivery at a time per event partitionKey. */
  ordering: EndpointOrdering;
  /** With ordering partitioned: what a delivery that failed for good does to its key (skip or block). */
  onFailure: OrderingOnFailure;
  circuit: EndpointCircuitView;
  createdAt: string;
  updatedAt: string;
}

/** The create response: the endpoint and its signing secret. */
export interface CreatedEndpointView extends EndpointView {
  secret: string;
}

/** Create input; types and sizes already checked by the API's DTO. */
export interface CreateEndpointInput {
  url: string;
  /** Default standard; cannot be changed later. */
  kind?: EndpointKind;
  description?: string;
  eventTypes?: string[];
  disabled?: boolean;
  rateLimitPerSecond?: number | null;
  /** Null = ENDPOINT_MAX_IN_FLIGHT. */
  maxInFlight?: number | null;
  headers?: Record<string, string>;
  /** The payload filter's JSON text as sent; absent or null = none. */
  filter?: string | null;
  ordering?: EndpointOrdering;
  onFailure?: OrderingOnFailure;
  /** The customer's own "whsec_…" secret; generated when absent. */
  secret?: string;
}

/** Partial update: absent fields are unchanged; `headers` replaces the whole set. */
export interface UpdateEndpointInput {
  url?: string;
  description?: string;
  eventTypes?: string[];
  disabled?: boolean;
  /** Only with `disabled: true`. */
  disabledReason?: string | null;
  rateLimitPerSecond?: number | null;
  /** Null = ENDPOINT_MAX_IN_FLIGHT. */
  maxInFlight?: number | null;
  headers?: Record<string, string>;
  /** The payload filter's JSON text as sent; null clears it. */
  filter?: string | null;
  ordering?: EndpointOrdering;
  /** Switching to skip releases every key blocked until then. */
  onFailure?: OrderingOnFailure;
}

/** POST /v1/endpoints/:id/filter/test: an event to try, and optionally a filter to try instead of the stored one. */
export interface FilterTestInput {
  eventType: string;
  /** The payload's JSON text. */
  payload: string;
  /** A filter's JSON text to try instead of the endpoint's; not stored. */
  filter?: string;
}

export interface FilterTestView {
  /** Whether the endpoint would get a delivery of this event (as far as its filter decides). */
  matched: boolean;
  /** Why: the conditions that decided it (explainFilter), one per line. */
  reasons: string[];
  /** The filter tried: the one given, else the endpoint's; null when it has none. */
  filter: RawJson | null;
}

@Injectable()
export class EndpointsService {
  private readonly addressPolicy: AddressPolicy;
  private readonly ports: PortPolicy;

  constructor(
    private readonly repo: EndpointsRepository,
    private readonly secrets: EndpointSecretsService,
    private readonly config: AppConfig,
    private readonly filters: EndpointFilterCache,
  ) {
    this.addressPolicy = AddressPolicy.fromCsv(config.SSRF_ALLOW_CIDRS);
    this.ports = PortPolicy.parse(config.DELIVERY_ALLOWED_PORTS);
  }

  /** Creates an endpoint with its first signing secret (returned in the response). */
  async create(applicationId: string, input: CreateEndpointInput): Promise<CreatedEndpointView> {
    const problems: FieldProblem[] = [];
    const url = this.checkUrl(input.url, problems);
    const headers = this.checkHeaders(input.headers ?? {}, problems);
    const filter = input.filter == null ? null : this.checkFilter(input.filter, problems);
    if (filter !== null && (input.kind ?? 'standard') !== 'standard') {
      problems.push({ field: 'filter', reason: OPERATIONAL_FILTER_REASON });
    }
    if (input.secret !== undefined) {
      const problem = webhookSecretProblem(input.secret);
      if (problem) problems.push({ field: 'secret', reason: problem });
    }
    if (problems.length || url === undefined) throw new InvalidInputError(problems);

    const id = newId('ep');
    const secret = this.secrets.prepare(id, input.secret);
    const row = await this.repo.create(
      {
        id,
        applicationId,
        url,
        kind: input.kind ?? 'standard',
        description: input.description ?? '',
        eventTypes: uniq(input.eventTypes ?? []),
        disabled: input.disabled ?? false,
        disabledReason: null,
        rateLimitPerSecond: input.rateLimitPerSecond ?? null,
        maxInFlight: input.maxInFlight ?? null,
        headers,
        filter,
        ordering: input.ordering ?? DEFAULT_ENDPOINT_ORDERING,
        onFailure: input.onFailure ?? DEFAULT_ORDERING_ON_FAILURE,
      },
      secret.row,
      this.config.MAX_ENDPOINTS_PER_APPLICATION,
    );
    if ('limitReached' in row) {
      throw new InvalidInputError([
        {
          field: 'application',
          reason:
            `already has ${row.limitReached} endpoints, the most MAX_ENDPOINTS_PER_APPLICATION ` +
            `(${this.config.MAX_ENDPOINTS_PER_APPLICATION}) allows; delete one first`,
        },
      ]);
    }
    if (filter !== null) this.filters.invalidate([applicationId]);
    return { ...toView(row), secret: secret.plaintext };
  }

  async get(applicationId: string, id: string): Promise<EndpointView> {
    const row = isId('ep', id) ? await this.repo.findById(applicationId, id) : null;
    if (!row) throw new NotFoundError('endpoint', id);
    return toView(row);
  }

  /** Endpoint URLs for table labels, in one query (deleted endpoints included; see EndpointsRepository.urls). */
  urls(ids: string[], applicationId?: string): Promise<Map<string, string>> {
    return this.repo.urls(ids, applicationId);
  }

  async list(applicationId: string, limit: number, after?: PageCursor): Promise<Page<EndpointView>> {
    return toPage(await this.repo.list(applicationId, limit, after), limit, toView);
  }

  /**
   * Partial update. `disabled: true` fails the endpoint's pending deliveries ("endpoint_disabled") in the same
   * transaction; `disabled: false` affects only deliveries of later events. For a standard endpoint, disabling sends
   * the operational event endpoint.disabled and re-enabling makes its next success send endpoint.recovered.
   */
  async update(applicationId: string, id: string, input: UpdateEndpointInput): Promise<EndpointView> {
    if (!isId('ep', id)) throw new NotFoundError('endpoint', id);
    const problems: FieldProblem[] = [];
    const changes: EndpointChanges = {};
    if (input.url !== undefined) changes.url = this.checkUrl(input.url, problems);
    if (input.headers !== undefined) changes.headers = this.checkHeaders(input.headers, problems);
    if (input.description !== undefined) changes.description = input.description;
    if (input.eventTypes !== undefined) changes.eventTypes = uniq(input.eventTypes);
    if (input.rateLimitPerSecond !== undefined) changes.rateLimitPerSecond = input.rateLimitPerSecond;
    if (input.maxInFlight !== undefined) changes.maxInFlight = input.maxInFlight;
    if (input.disabled !== undefined) changes.disabled = input.disabled;
    if (input.filter !== undefined) {
      changes.filter = input.filter === null ? null : this.checkFilter(input.filter, problems);
    }
    if (input.ordering !== undefined) changes.ordering = input.ordering;
    if (input.onFailure !== undefined) changes.onFailure = input.onFailure;
    if (input.disabledReason !== undefined) {
      if (input.disabled !== true) {
        problems.push({ field: 'disabledReason', reason: 'is only accepted together with "disabled": true' });
      }
      changes.disabledReason = input.disabledReason;
    }
    if (problems.length) throw new InvalidInputError(problems);
    if (typeof changes.filter === 'string') {
      const current = await this.repo.findById(applicationId, id);
      if (!current) throw new NotFoundError('endpoint', id);
      if (current.kind !== 'standard') {
        throw new InvalidInputError([{ field: 'filter', reason: OPERATIONAL_FILTER_REASON }]);
      }
    }
    const row = await this.repo.update(applicationId, id, changes);
    if (!row) throw new NotFoundError('endpoint', id);
    this.filters.invalidate([applicationId]);
    return toView(row);
  }

  /** Soft delete: 404 from then on; pending deliveries fail with "endpoint_deleted" in the same transaction. */
  async delete(applicationId: string, id: string): Promise<void> {
    const deleted = isId('ep', id) && (await this.repo.softDelete(applicationId, id));
    if (!deleted) throw new NotFoundError('endpoint', id);
    this.filters.invalidate([applicationId]);
  }

  /**
   * For the delivery worker when an endpoint answers 410 Gone: disables it with `reason` and fails its pending
   * deliveries (all of them, including one in flight: record that attempt's outcome first). False when the
   * endpoint is missing or deleted. When this call disabled a standard endpoint, endpoint.disabled is written in
   * the same transaction.
   */
  async disableForGone(endpointId: string, reason: string): Promise<boolean> {
    return (await this.repo.disable(endpointId, reason)) !== null;
  }

  /**
   * The dispatcher's auto-disable: an endpoint whose attempts kept failing with no success for
   * ENDPOINT_DISABLE_AFTER_SECONDS is disabled with reason `failing` (pending deliveries failed and
   * endpoint.disabled written in the same transaction, as for a 410).
   */
  async disableForFailing(endpointId: string): Promise<boolean> {
    return (await this.repo.disable(endpointId, ENDPOINT_FAILING_REASON)) !== null;
  }

  /**
   * Whether the endpoint's filter (or `input.filter`, tried instead) matches an event, and why. Changes nothing.
   * An endpoint without a filter matches every event.
   */
  async testFilter(applicationId: string, id: string, input: FilterTestInput): Promise<FilterTestView> {
    const endpoint = await this.get(applicationId, id);
    const problems: FieldProblem[] = [];
    if (typeof input.eventType !== 'string' || !EVENT_TYPE_PATTERN.test(input.eventType)) {
      problems.push({ field: 'eventType', reason: `must match ${EVENT_TYPE_PATTERN.source}` });
    }
    const data = parseObject(input.payload);
    if (data === undefined) problems.push({ field: 'payload', reason: 'must be a JSON object' });
    let text = endpoint.filter?.text ?? null;
    let compiled: CompiledFilter | null = null;
    if (input.filter !== undefined) {
      const r = checkFilterText(input.filter, this.filterLimits);
      if (r.ok) compiled = r.filter;
      else problems.push(...r.problems);
      text = input.filter;
    } else if (text !== null) {
      // Compiled as the fan-out compiles it: without today's limits (a stored filter applies whatever they became).
      compiled = compileStoredFilter(text);
    }
    if (problems.length) throw new InvalidInputError(problems);
    if (compiled === null) {
      return {
        matched: true,
        reasons: [
          text === null
            ? 'the endpoint has no filter: every event matches'
            : 'the stored filter is unreadable: it is not applied',
        ],
        filter: text === null ? null : new RawJson(text),
      };
    }
    const explained = explainFilter(compiled, { type: input.eventType, data });
    return { matched: explained.match, reasons: explained.reasons, filter: new RawJson(text!) };
  }

  private get filterLimits(): FilterLimits {
    return {
      maxBytes: this.config.ENDPOINT_FILTER_MAX_BYTES,
      maxDepth: this.config.ENDPOINT_FILTER_MAX_DEPTH,
    };
  }

  private checkFilter(text: string, problems: FieldProblem[]): string | null {
    const r = checkFilterText(text, this.filterLimits);
    if (r.ok) return r.text;
    problems.push(...r.problems);
    return null;
  }

  private checkUrl(raw: string, problems: FieldProblem[]): string | undefined {
    const r = checkEndpointUrl(raw, (url) => checkUrlDestination(url, this.addressPolicy));
    if ('problems' in r) {
      problems.push(...r.problems);
      return undefined;
    }
    const badPort = portProblem(new URL(r.url), this.ports);
    if (badPort) {
      problems.push({ field: 'url', reason: badPort });
      return undefined;
    }
    return r.url;
  }

  private checkHeaders(headers: Record<string, string>, problems: FieldProblem[]): Record<string, string> {
    problems.push(
      ...checkEndpointHeaders(headers, {
        maxCount: this.config.MAX_ENDPOINT_HEADERS,
        maxBytes: this.config.MAX_ENDPOINT_HEADERS_BYTES,
      }),
    );
    return Object.fromEntries(Object.entries(headers));
  }
}

/** disabled_reason of an endpoint the dispatcher disabled for failing too long. */
export const ENDPOINT_FAILING_REASON = 'failing';

const OPERATIONAL_FILTER_REASON =
  "applies to standard endpoints only (operational endpoints get Tern's own events)";

function parseObject(text: unknown): Record<string, unknown> | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function uniq(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * An endpoint as `kind` of principal may see it: support keys read the custom header names, not their values
 * (receiver credentials); the owning application and the admin see them whole.
 */
export function endpointViewFor<T extends EndpointView>(kind: PrincipalKind, view: T): T {
  return kind === 'support' ? { ...view, headers: redactHeaderValues(view.headers) } : view;
}

function toView(r: EndpointRecord): EndpointView {
  return {
    id: r.id,
    applicationId: r.applicationId,
    url: r.url,
    kind: r.kind,
    description: r.description,
    eventTypes: r.eventTypes,
    disabled: r.disabled,
    disabledReason: r.disabledReason,
    disabledAt: r.disabledAt?.toISOString() ?? null,
    rateLimitPerSecond: r.rateLimitPerSecond,
    maxInFlight: r.maxInFlight,
    headers: r.headers,
    filter: r.filter === null ? null : new RawJson(r.filter),
    ordering: r.ordering,
    onFailure: r.onFailure,
    circuit: toCircuitView(r.circuit),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

function toCircuitView(c: EndpointCircuit): EndpointCircuitView {
  return {
    state: c.state,
    openedAt: c.openedAt?.toISOString() ?? null,
    nextProbeAt: c.nextProbeAt?.toISOString() ?? null,
  };
}
