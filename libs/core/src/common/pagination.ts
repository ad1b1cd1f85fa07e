import { InvalidInputError } from './errors';
import { IdPrefix, isId } from './ids';

/** Keyset pagination, newest first: the cursor is the last item's (createdAt, id), opaque to clients. */
export interface PageCursor {
  createdAt: Date;
  id: string;
}

/** Prisma `where` part of a newest-first page that starts after `after` (nothing on the first page). */
export function keysetAfter(after?: PageCursor) {
  return after
    ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }
    : {};
}

/** Prisma `orderBy` of a newest-first page: the order keysetAfter and toPage assume. */
export function newestFirst() {
  return [{ createdAt: 'desc' as const }, { id: 'desc' as const }];
}

export interface Page<T> {
  data: T[];
  /** Pass as `cursor` to get the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export function encodeCursor(c: PageCursor): string {
  return Buffer.from(`${c.createdAt.toISOString()}|${c.id}`, 'utf8').toString('base64url');
}

/**
 * Reads a cursor of the list whose items carry `prefix` ids: a cursor from another list (a deliveries cursor given
 * to /v1/attempts) is refused, like a forged one.
 */
export function decodeCursor(
  cursor: string | undefined,
  prefix: IdPrefix,
  field = 'cursor',
): PageCursor | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const [ts, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(ts ?? '');
  if (!isId(prefix, id) || extra !== undefined || Number.isNaN(createdAt.getTime())) {
    throw new InvalidInputError([{ field, reason: 'is not a cursor returned by this list' }], 400);
  }
  return { createdAt, id };
}

/** Builds a page from `limit + 1` rows fetched newest first. */
export function toPage<R extends { createdAt: Date; id: string }, T>(
  rows: R[],
  limit: number,
  map: (r: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { data: items.map(map), nextCursor: more && last ? encodeCursor(last) : null };
}
