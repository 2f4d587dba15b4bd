// Turns the distinct solutions of a query into its answer: projection onto `find` (as a set) or grouping
// with aggregates, ordering (orderBy, then every column, so answers never depend on the plan), offset,
// limit, the result-size limit, and the JSON form of every value.

import { valueToJson } from '../../codec/json.js';
import { StrataError } from '../../core/errors.js';
import type { Value } from '../../core/types.js';
import { compareValues, valueIdentity } from '../../core/values.js';
import type { AggregateFn, FindElem, OrderKey, ParsedQuery } from './ast.js';
import { distinctOn, rowKey, type Relation } from './relation.js';

type Cell = Value | null;

export interface Answer {
  columns: string[];
  rows: unknown[][];
}

function isNumeric(v: Value): boolean {
  return v.t === 'n' || v.t === 'l';
}

function isIntegral(v: Value): boolean {
  return v.t === 'l' || (v.t === 'n' && Number.isInteger(v.v));
}

/** A long stays exact: BigInt when every term is an integer, a double otherwise. */
function sumOf(values: Value[]): Value {
  if (values.every(isIntegral)) {
    const total = values.reduce((s, v) => s + BigInt(v.v as number | string), 0n);
    const n = Number(total);
    return Number.isSafeInteger(n) ? { t: 'n', v: n } : { t: 'l', v: total.toString() };
  }
  return { t: 'n', v: values.reduce((s, v) => s + Number(v.v), 0) };
}

/** Aggregates over the values of one group; sums add in value order so the result never depends on row order. */
export function aggregateValues(fn: AggregateFn, values: Value[]): Cell {
  switch (fn) {
    case 'count': return { t: 'n', v: values.length };
    case 'countDistinct': return { t: 'n', v: new Set(values.map(valueIdentity)).size };
    case 'min':
    case 'max': {
      if (values.length === 0) return null;
      const sorted = [...values].sort(compareValues);
      return fn === 'min' ? sorted[0]! : sorted[sorted.length - 1]!;
    }
    case 'sum':
    case 'avg': {
      const numbers = values.filter(isNumeric).sort(compareValues);
      if (numbers.length === 0) return null;
      const sum = sumOf(numbers);
      return fn === 'sum' ? sum : { t: 'n', v: Number(sum.v) / numbers.length };
    }
  }
}

/** Groups solutions by the found variables and aggregates each group; no grouping variable = one group, always. */
function aggregate(find: FindElem[], rel: Relation): Cell[][] {
  const groupColumns = find.filter((f) => f.kind === 'var').map((f) => rel.vars.indexOf(f.name));
  const groups = new Map<string, Value[][]>();
  for (const row of rel.rows) {
    const key = rowKey(row, groupColumns);
    const members = groups.get(key);
    if (members === undefined) groups.set(key, [row]);
    else members.push(row);
  }
  if (groupColumns.length === 0 && groups.size === 0) groups.set('', []);
  const out: Cell[][] = [];
  for (const members of groups.values()) {
    out.push(find.map((f): Cell => {
      const column = rel.vars.indexOf(f.name);
      if (f.kind === 'var') return members[0]![column]!;
      return aggregateValues(f.fn, members.map((row) => row[column]!));
    }));
  }
  return out;
}

function compareCells(a: Cell, b: Cell): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return compareValues(a, b);
}

/** orderBy first, then every column ascending: a total order, so equal queries give equal answers. */
export function sortRows(rows: Cell[][], orderBy: OrderKey[], width: number): void {
  const keys = [...orderBy, ...Array.from({ length: width }, (_, column) => ({ column, descending: false }))];
  rows.sort((a, b) => {
    for (const k of keys) {
      const c = compareCells(a[k.column]!, b[k.column]!);
      if (c !== 0) return k.descending ? -c : c;
    }
    return 0;
  });
}

export function finish(q: ParsedQuery, rel: Relation, rowsMax: number): Answer {
  const hasAggregate = q.find.some((f) => f.kind === 'agg');
  let rows: Cell[][];
  if (hasAggregate) rows = aggregate(q.find, rel);
  else {
    const columns = q.find.map((f) => rel.vars.indexOf(f.name));
    rows = distinctOn(rel.rows, columns).map((row) => columns.map((c) => row[c]!));
  }
  sortRows(rows, q.orderBy, q.find.length);
  const page = rows.slice(q.offset, q.limit === null ? undefined : q.offset + q.limit);
  if (page.length > rowsMax) {
    throw new StrataError('result_too_large', `the query has ${page.length} result rows, more than ${rowsMax}; add "limit" (and page with "offset")`, { rows: page.length, rowsMax });
  }
  return { columns: q.find.map((f) => f.column), rows: page.map((row) => row.map((v) => (v === null ? null : valueToJson(v)))) };
}
