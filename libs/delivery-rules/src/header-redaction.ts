/** What a redacted header value reads as: in attempt logs, and in endpoint views for support keys. */
export const REDACTED_HEADER_VALUE = '[redacted]';

/**
 * The same header names, every value replaced by REDACTED_HEADER_VALUE. Custom endpoint headers carry receiver
 * credentials as often as not (`authorization`, `x-api-key`): who may see the names may not see the values.
 */
export function redactHeaderValues(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED_HEADER_VALUE]));
}
