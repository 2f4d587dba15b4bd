// Opaque listing cursors: base64url JSON of the first page's basis and filters plus the last id seen,
// so every page of one listing reads the same slice and a cursor cannot be replayed on another listing.

import { StrataError } from '../core/errors.js';

export interface ListCursor {
  basis: number;
  type: string | null;
  /** The raw `where` parameters, sorted: filters are ANDed, so their order does not matter. */
  where: string[];
  afterId: string;
}

export function encodeCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

function invalid(reason: string): StrataError {
  return new StrataError('invalid_cursor', `invalid cursor: ${reason}`, { reason });
}

export function decodeCursor(text: string): ListCursor {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid('not a cursor returned by this API');
  }
  if (typeof raw !== 'object' || raw === null) throw invalid('not a cursor returned by this API');
  const c = raw as Record<string, unknown>;
  const basisOk = typeof c['basis'] === 'number' && Number.isSafeInteger(c['basis']) && c['basis'] >= 0;
  const typeOk = c['type'] === null || typeof c['type'] === 'string';
  const whereOk = Array.isArray(c['where']) && c['where'].every((w) => typeof w === 'string');
  if (!basisOk || !typeOk || !whereOk || typeof c['afterId'] !== 'string') throw invalid('not a cursor returned by this API');
  return { basis: c['basis'] as number, type: c['type'] as string | null, where: c['where'] as string[], afterId: c['afterId'] };
}

/** A cursor continues a listing only when the request repeats the filters of the first page. */
export function assertCursorMatches(cursor: ListCursor, type: string | null, where: string[]): void {
  const same = cursor.type === type && cursor.where.length === where.length && cursor.where.every((w, i) => w === where[i]);
  if (!same) throw invalid('the type/where filters differ from the listing the cursor belongs to');
}
