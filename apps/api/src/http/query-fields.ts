import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, Matches } from 'class-validator';
import { FieldProblem, IdPrefix, InvalidInputError } from '@tern/core';

/** A date, or a date-time with seconds optional, fractions optional and a zone (Z or ±hh:mm) required. */
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
export const TIMESTAMP_MESSAGE =
  'must be an ISO 8601 date (2026-01-31) or date-time with a zone (2026-01-31T12:00:00Z)';

/** An optional ISO 8601 timestamp query parameter (kept as a string; see parseTimeRange). */
export function TimestampParam(description: string) {
  return applyDecorators(
    ApiPropertyOptional({ format: 'date-time', description }),
    IsOptional(),
    IsString(),
    Matches(TIMESTAMP, { message: TIMESTAMP_MESSAGE }),
    IsISO8601({ strict: true }, { message: TIMESTAMP_MESSAGE }),
  );
}

/** An optional Tern id query parameter of one kind ("ep_…", "evt_…"); a malformed one is 422. */
export function IdParam(prefix: IdPrefix, description: string) {
  return applyDecorators(
    ApiPropertyOptional({ description, example: `${prefix}_0192f3a4b5c6d7e8f9a0b1c2d3e4` }),
    IsOptional(),
    IsString(),
    Matches(new RegExp(`^${prefix}_[0-9a-f]{28}$`), { message: `must be a ${prefix}_… id` }),
  );
}

/** `applicationId` of lists readable by admin and support keys. */
export const ApplicationIdParam = () =>
  IdParam(
    'app',
    'Admin and support keys: only this application. Application keys may only name their own application.',
  );

/** Parses validated since/until strings; until must be after since (422 otherwise). */
export function parseTimeRange(q: { since?: string; until?: string }): { since?: Date; until?: Date } {
  const since = q.since === undefined ? undefined : new Date(q.since);
  const until = q.until === undefined ? undefined : new Date(q.until);
  const bad: FieldProblem[] = [];
  if (since && Number.isNaN(since.getTime())) bad.push({ field: 'since', reason: 'is not a valid date' });
  if (until && Number.isNaN(until.getTime())) bad.push({ field: 'until', reason: 'is not a valid date' });
  if (!bad.length && since && until && until.getTime() <= since.getTime()) {
    bad.push({ field: 'until', reason: 'must be after since' });
  }
  if (bad.length) throw new InvalidInputError(bad);
  return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
}
