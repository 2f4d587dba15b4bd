// A view's query, checked and compiled once: the static rules views add to the query language, the
// columns and key columns of its rows, the row encodings (key bytes, JSON cells) and its delta analysis.

import { canonicalJson, valueToJson } from '../codec/json.js';
import { StrataError } from '../core/errors.js';
import type { Limits } from '../core/limits.js';
import type { TxInput, Value } from '../core/types.js';
import { prepareQuery, type PreparedQuery } from '../query/lang/run.js';
import { queryError } from '../query/lang/parse.js';
import { encodeValue } from '../store/keys.js';
import { analyzeView, type ViewAnalysis } from './analysis.js';

/**
 * Query fields a view cannot carry: its rows are the whole answer as of every offset (no basis of its
 * own, no speculation, no page of it, no order but the row key's), maintained with no time limit.
 */
const FIELDS_NOT_IN_VIEWS = ['at', 'asOf', 'with', 'orderBy', 'limit', 'offset', 'timeoutMs', 'explain'] as const;

/** A compiled view query. Rows are keyed by `keyVars`: every found variable, or the grouping ones. */
export interface ViewSpec {
  /** Canonical JSON text (what the log and the schema hold). */
  text: string;
  prepared: PreparedQuery;
  columns: string[];
  /** True when `find` has an aggregate: rows are groups, keyed by the plain variables. */
  aggregate: boolean;
  keyVars: string[];
  analysis: ViewAnalysis;
}

/**
 * Checks a view query statically: the query language's own checks (parse and plan, every fault with
 * its JSON pointer) plus the fields a view cannot carry. Throws StrataError invalid_query.
 */
export function compileView(query: unknown, limits: Limits): ViewSpec {
  if (typeof query === 'object' && query !== null && !Array.isArray(query)) {
    for (const field of FIELDS_NOT_IN_VIEWS) {
      if (Object.hasOwn(query, field)) {
        throw queryError(`/${field}`, `a view cannot have "${field}": its rows are the whole answer as of every offset, listed in row-key order (page with the rows endpoint)`);
      }
    }
  }
  const prepared = prepareQuery(query, limits);
  const { find } = prepared.query;
  const aggregate = find.some((f) => f.kind === 'agg');
  return {
    text: canonicalJson(query),
    prepared,
    columns: find.map((f) => f.column),
    aggregate,
    keyVars: find.filter((f) => f.kind === 'var').map((f) => f.name),
    analysis: analyzeView(prepared.query),
  };
}

/** Compiles a view query as stored (canonical text); a stored query passed the checks when published. */
export function compileStoredView(text: string, limits: Limits): ViewSpec {
  return compileView(JSON.parse(text) as unknown, limits);
}

/**
 * The static view checks of a transaction (the codec checked the op shapes): every defineView query must
 * compile. Throws invalid_query with the pointer inside the tx (`/ops/3/query/where/0`).
 */
export function checkViewOps(tx: TxInput, limits: Limits): void {
  tx.ops.forEach((op, index) => {
    if (op.op !== 'defineView') return;
    try {
      compileStoredView(op.query, limits);
    } catch (err) {
      if (!(err instanceof StrataError) || err.code !== 'invalid_query') throw err;
      const details = err.details ?? {};
      const pointer = `/ops/${index}/query${String(details['pointer'] ?? '')}`;
      throw new StrataError('invalid_query', `${pointer}: ${String(details['reason'] ?? err.message)}`, { ...details, pointer, op: index });
    }
  });
}

/** One row of a view: its key bytes and its cells (typed; null for an aggregate over no value). */
export interface ViewRow {
  key: Buffer;
  cells: (Value | null)[];
}

/** The key of a row: its key columns' values, each prefix-free, so a row's versions are contiguous. */
export function rowKeyOf(values: Value[]): Buffer {
  return Buffer.concat(values.map(encodeValue));
}

/** A row's JSON text: the cells in their output forms, as query answers show them. */
export function rowJson(cells: (Value | null)[]): string {
  return JSON.stringify(cells.map((v) => (v === null ? null : valueToJson(v))));
}
