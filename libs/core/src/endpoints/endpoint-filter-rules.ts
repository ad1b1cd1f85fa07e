import { CompiledFilter, FilterLimits, validateFilter } from '@tern/delivery-rules';
import { FieldProblem } from '../common/errors';
import { checkPayloadText } from '../events/payload-text';

/**
 * Checks an endpoint filter given as JSON text (kept as sent): strict JSON, an object, no key repeated in one
 * object (JSON.parse would keep only the last, so the text would say one thing and the filter do another), within
 * `limits` as sent and as validateFilter measures them, and a valid filter (payload-filter.ts). Problems name
 * `field` plus the filter's path: `filter.data.amount.$gtt`.
 */
export function checkFilterText(
  text: string,
  limits: FilterLimits,
  field = 'filter',
): { ok: true; text: string; filter: CompiledFilter } | { ok: false; problems: FieldProblem[] } {
  const shape = checkPayloadText(text, limits, field);
  if (!shape.ok) return { ok: false, problems: [shape.problem] };
  const r = validateFilter(JSON.parse(text) as unknown, limits);
  if (!r.ok) {
    return {
      ok: false,
      problems: r.errors.map((e) => ({
        field: e.path === '' ? field : e.path.startsWith('[') ? `${field}${e.path}` : `${field}.${e.path}`,
        reason: e.reason,
      })),
    };
  }
  return { ok: true, text, filter: r.filter };
}

/**
 * Stored filters are compiled without the current limits: a filter accepted under larger limits keeps working if
 * ENDPOINT_FILTER_MAX_* are lowered later. These bounds only keep the compiler itself safe.
 */
export const STORED_FILTER_LIMITS: FilterLimits = { maxBytes: 1 << 20, maxDepth: 256 };

/**
 * A stored filter compiled as the fan-out applies it (EndpointFilterCache) and the filter test call explains it;
 * null when the text no longer compiles (it is then not applied).
 */
export function compileStoredFilter(text: string): CompiledFilter | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const r = validateFilter(parsed, STORED_FILTER_LIMITS);
  return r.ok ? r.filter : null;
}
