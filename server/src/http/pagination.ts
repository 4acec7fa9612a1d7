/**
 * Keyset pagination with opaque cursors.
 *
 * A list answers `{ items, nextCursor }`; `nextCursor` is null on the last page. The cursor is the
 * sort key of the last item, tagged with the list it belongs to, as base64url JSON. Clients must
 * treat it as opaque; the server validates it and answers 400 INVALID_CURSOR for anything it did
 * not issue for that list (keyset pagination never skips or repeats rows when others are inserted
 * meanwhile, unlike OFFSET, and stays fast on deep pages).
 */
import { z } from 'zod';
import { BadRequestError } from './http-error.js';

/** Smallest, default and largest page size. */
export const PAGE_LIMIT = { min: 1, default: 25, max: 100 } as const;

/** Query fields every list accepts. */
export const paginationQuery = {
  /** Items per page, 1..100, default 25. */
  limit: z.coerce
    .number({ error: `must be an integer between ${PAGE_LIMIT.min} and ${PAGE_LIMIT.max}` })
    .int({ error: `must be an integer between ${PAGE_LIMIT.min} and ${PAGE_LIMIT.max}` })
    .min(PAGE_LIMIT.min, { error: `must be an integer between ${PAGE_LIMIT.min} and ${PAGE_LIMIT.max}` })
    .max(PAGE_LIMIT.max, { error: `must be an integer between ${PAGE_LIMIT.min} and ${PAGE_LIMIT.max}` })
    .default(PAGE_LIMIT.default)
    .meta({ description: 'Items per page (1..100, default 25).' }),
  /** The `nextCursor` of the previous page. */
  cursor: z
    .string({ error: 'must be a cursor string' })
    .max(512, { error: 'is too long' })
    .optional()
    .meta({ description: 'Opaque `nextCursor` of the previous page.' }),
};

/** A page of items. */
export interface Page<T> {
  items: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** The zod schema of a page of `item`. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** Sort key values a cursor can carry. */
export type CursorValue = string | number;

/**
 * Encodes the sort key of the last item of a page.
 * @param list the list's name, e.g. `patients`; a cursor is only accepted by the same list.
 */
export function encodeCursor(list: string, key: readonly CursorValue[]): string {
  return Buffer.from(JSON.stringify([list, ...key]), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor issued by {@link encodeCursor} for `list`.
 * @param shape the expected key: one zod schema per key position.
 * @returns the key values, or undefined when `cursor` is undefined.
 * @throws BadRequestError INVALID_CURSOR when the cursor is malformed or belongs to another list.
 */
export function decodeCursor<const S extends readonly z.ZodType<CursorValue>[]>(
  list: string,
  cursor: string | undefined,
  shape: S,
): { [K in keyof S]: z.output<S[K]> } | undefined {
  if (cursor === undefined) return undefined;
  const invalid = new BadRequestError('cursor is not valid for this list', 'INVALID_CURSOR', {
    hint: 'Pass the nextCursor of the previous page unchanged, or omit cursor to start over.',
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(parsed) || parsed.length !== shape.length + 1 || parsed[0] !== list) throw invalid;
  const values: unknown[] = [];
  for (let i = 0; i < shape.length; i += 1) {
    const result = shape[i]!.safeParse(parsed[i + 1]);
    if (!result.success) throw invalid;
    values.push(result.data);
  }
  return values as { [K in keyof S]: z.output<S[K]> };
}

/**
 * Turns `limit + 1` fetched rows into a page: the extra row only says that there is a next page.
 * @param keyOf the sort key of an item, encoded into the cursor.
 */
export function toPage<T>(rows: T[], limit: number, list: string, keyOf: (item: T) => readonly CursorValue[]): Page<T> {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(list, keyOf(items[items.length - 1]!)) };
}
