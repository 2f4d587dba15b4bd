// Parses the JSON form of a query (docs/query.md) into a ParsedQuery. Every failure is an invalid_query
// error whose details carry the JSON pointer of the offending place (`/where/2/attr`) and the reason.

import { parseIsoInstant, parseTxJson } from '../../codec/json.js';
import { StrataError } from '../../core/errors.js';
import type { Limits } from '../../core/limits.js';
import type { Op } from '../../core/types.js';
import { AGGREGATES, type AggregateFn, type FindElem, type OrderKey, type ParsedQuery } from './ast.js';
import { isPlainObject, isVariable, own, parseClauses, pointerOf, queryError, type ParseContext } from './parse-clauses.js';

export { queryError } from './parse-clauses.js';

const QUERY_FIELDS = ['find', 'where', 'orderBy', 'limit', 'offset', 'at', 'asOf', 'with', 'timeoutMs', 'explain'] as const;
/** Characters of an aggregate's `as` alias: column names travel in every response. */
const COLUMN_CHARS_MAX = 128;

/** Parses a query body; throws StrataError invalid_query with details {pointer, reason}. */
export function parseQuery(body: unknown, limits: Limits): ParsedQuery {
  if (!isPlainObject(body)) throw queryError('', 'a query must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!(QUERY_FIELDS as readonly string[]).includes(key)) {
      throw queryError(pointerOf('', key), `unknown field ${JSON.stringify(key)}; a query has ${QUERY_FIELDS.join(', ')}`);
    }
  }
  const ctx: ParseContext = { limits, clauses: 0 };
  const find = parseFind(own(body, 'find'));
  if (own(body, 'where') === undefined) throw queryError('/where', 'missing: a query needs a non-empty "where" array of clauses');
  const where = parseClauses(own(body, 'where'), '/where', 0, ctx);
  const at = optionalInteger(own(body, 'at'), '/at', 0, Number.MAX_SAFE_INTEGER);
  const asOf = parseAsOf(own(body, 'asOf'));
  if (at !== null && asOf !== null) throw queryError('/asOf', 'give "at" or "asOf", not both');
  return {
    find,
    where,
    orderBy: parseOrderBy(own(body, 'orderBy'), find),
    limit: optionalInteger(own(body, 'limit'), '/limit', 1, limits.queryRowsMax),
    offset: optionalInteger(own(body, 'offset'), '/offset', 0, Number.MAX_SAFE_INTEGER) ?? 0,
    at,
    asOf,
    with: parseWith(own(body, 'with'), limits),
    timeoutMs: optionalInteger(own(body, 'timeoutMs'), '/timeoutMs', 1, limits.queryTimeMsMax),
    explain: parseExplain(own(body, 'explain')),
  };
}

function optionalInteger(raw: unknown, pointer: string, min: number, max: number): number | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) {
    throw queryError(pointer, `must be an integer from ${min} to ${max}`);
  }
  return raw;
}

function parseAsOf(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string' || parseIsoInstant(raw) === null) throw queryError('/asOf', 'must be an ISO-8601 tx time, e.g. "2024-05-01T12:00:00Z"');
  return raw;
}

function parseExplain(raw: unknown): boolean {
  if (raw === undefined || raw === null) return false;
  if (typeof raw !== 'boolean') throw queryError('/explain', 'must be a boolean');
  return raw;
}

function parseFindVar(raw: unknown, pointer: string): string {
  if (typeof raw !== 'string' || !isVariable(raw)) throw queryError(pointer, 'must be a variable such as "?name"');
  if (raw === '?_') throw queryError(pointer, 'the anonymous variable ?_ binds nothing and cannot be found');
  return raw;
}

function parseAggregate(raw: Record<string, unknown>, pointer: string): FindElem {
  const keys = Object.keys(raw);
  const fns = keys.filter((k): k is AggregateFn => (AGGREGATES as readonly string[]).includes(k));
  if (fns.length !== 1) throw queryError(pointer, `an aggregate is {"<fn>": "?var"} with one fn of ${AGGREGATES.join(', ')}, and optionally "as"`);
  const fn = fns[0]!;
  const extra = keys.find((k) => k !== fn && k !== 'as');
  if (extra !== undefined) throw queryError(pointerOf(pointer, extra), `unexpected field ${JSON.stringify(extra)} in an aggregate`);
  const name = parseFindVar(raw[fn], pointerOf(pointer, fn));
  const alias = own(raw, 'as');
  if (alias !== undefined && (typeof alias !== 'string' || alias.length === 0 || alias.length > COLUMN_CHARS_MAX)) {
    throw queryError(pointerOf(pointer, 'as'), `must be a column name of 1 to ${COLUMN_CHARS_MAX} chars`);
  }
  return { kind: 'agg', fn, name, column: typeof alias === 'string' ? alias : `${fn}(${name})` };
}

function parseFind(raw: unknown): FindElem[] {
  if (raw === undefined) throw queryError('/find', 'missing: a query needs a non-empty "find" array');
  if (!Array.isArray(raw) || raw.length === 0) throw queryError('/find', 'must be a non-empty array of variables and aggregates');
  const columns = new Set<string>();
  return raw.map((item: unknown, i) => {
    const pointer = `/find/${i}`;
    const elem: FindElem = isPlainObject(item) ? parseAggregate(item, pointer) : { kind: 'var', name: parseFindVar(item, pointer), column: String(item) };
    if (columns.has(elem.column)) throw queryError(pointer, `duplicate column ${JSON.stringify(elem.column)}; name it apart with "as"`);
    columns.add(elem.column);
    return elem;
  });
}

function parseOrderKey(raw: unknown, pointer: string, find: FindElem[]): OrderKey {
  const [name, dir] = Array.isArray(raw) ? [raw[0], raw[1]] : [raw, 'asc'];
  if (typeof name !== 'string' || (Array.isArray(raw) && raw.length !== 2)) {
    throw queryError(pointer, 'an orderBy entry is a column name or ["<column>", "asc"|"desc"]');
  }
  if (dir !== 'asc' && dir !== 'desc') throw queryError(`${pointer}/1`, 'the direction is "asc" or "desc"');
  const column = find.findIndex((f) => f.column === name);
  if (column < 0) {
    const known = find.map((f) => f.column).join(', ');
    throw queryError(Array.isArray(raw) ? `${pointer}/0` : pointer, `unknown column ${JSON.stringify(name)}; orderBy names a find column (${known})`);
  }
  return { column, descending: dir === 'desc' };
}

function parseOrderBy(raw: unknown, find: FindElem[]): OrderKey[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw queryError('/orderBy', 'must be an array of column names or ["<column>", "asc"|"desc"] pairs');
  return raw.map((item: unknown, i) => parseOrderKey(item, `/orderBy/${i}`, find));
}

/** `with`: ops in their transaction form, checked by the same codec as a publish. */
function parseWith(raw: unknown, limits: Limits): Op[] | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) throw queryError('/with', 'must be an array of ops, as in a transaction');
  try {
    return parseTxJson({ ops: raw }, limits).ops;
  } catch (err) {
    if (!(err instanceof StrataError)) throw err;
    const details = err.details ?? {};
    const op = details['op'];
    const field = details['field'];
    const pointer = typeof op === 'number' ? pointerOf(`/with/${op}`, typeof field === 'string' && field !== 'op' ? field : '') : '/with';
    throw queryError(pointer.replace(/\/$/, ''), err.message.replace(/^op \d+: /, ''), { cause: err.code });
  }
}
