// The parsed form of a query (docs/query.md): terms, clauses, find elements and ordering. The JSON form
// is parsed and checked into this by parse.ts; the planner and the evaluator only ever see this form.

import type { Op, WireValue } from '../../core/types.js';

/**
 * A term of a clause: a named logic variable, the anonymous variable `?_` (matches anything, binds
 * nothing, each occurrence distinct), or a constant in its published (wire) form — the attribute's
 * definition decides its stored form at evaluation time, exactly as for a `set`.
 */
export type Term = { t: 'var'; name: string } | { t: 'any' } | { t: 'const'; value: WireValue };

export type Direction = 'out' | 'in' | 'both';

export const PRED_OPS = ['=', '!=', '<', '<=', '>', '>=', 'prefix', 'in'] as const;
export type PredOp = (typeof PRED_OPS)[number];

export const AGGREGATES = ['count', 'countDistinct', 'sum', 'min', 'max', 'avg'] as const;
export type AggregateFn = (typeof AGGREGATES)[number];

/** Every clause knows its JSON pointer in the request, for errors and `explain`. */
interface At {
  path: string;
}

/** `{"type": T, "id": I, "kind"?: "node"|"edge"}`: entities of a type. */
export interface TypeClause extends At {
  kind: 'type';
  id: Term;
  type: Term;
  entityKind: 'node' | 'edge' | null;
}

/** `{"id": I, "attr": "name", "value": V}`: one binding per value (cardinality-many binds each). */
export interface AttrClause extends At {
  kind: 'attr';
  id: Term;
  attr: string;
  value: Term;
}

/** `{"edge": E, "from": F, "to": T, "id"?: X}`: live edges of a type between two nodes. */
export interface EdgeClause extends At {
  kind: 'edge';
  edgeType: Term;
  from: Term;
  to: Term;
  id: Term;
}

/** `{"pred": op, "args": [a, b]}`; for `in`, args[1] is a constant set. */
export interface PredClause extends At {
  kind: 'pred';
  op: PredOp;
  args: Term[];
  /** The constant set of `in`. */
  set: WireValue[] | null;
}

export interface NotClause extends At {
  kind: 'not';
  body: Clause[];
}

export interface OrClause extends At {
  kind: 'or';
  branches: Clause[][];
}

/** `{"reach": {...}}`: nodes reachable over one edge type, by breadth-first search on the adjacency index. */
export interface ReachClause extends At {
  kind: 'reach';
  from: Term;
  to: Term;
  edgeType: string;
  direction: Direction;
  minDepth: number;
  maxDepth: number;
  /** Binds the length of a shortest path. */
  depth: Term;
}

export type Clause = TypeClause | AttrClause | EdgeClause | PredClause | NotClause | OrClause | ReachClause;

export type FindElem = { kind: 'var'; name: string; column: string } | { kind: 'agg'; fn: AggregateFn; name: string; column: string };

export interface OrderKey {
  /** Index into the find columns. */
  column: number;
  descending: boolean;
}

export interface ParsedQuery {
  find: FindElem[];
  where: Clause[];
  orderBy: OrderKey[];
  limit: number | null;
  offset: number;
  at: number | null;
  asOf: string | null;
  /** Speculative ops applied in memory at the basis (nothing is logged). */
  with: Op[] | null;
  timeoutMs: number | null;
  explain: boolean;
}

/** Named variables a term mentions. */
export function termVar(t: Term): string | null {
  return t.t === 'var' ? t.name : null;
}

/** Terms of a pattern-like clause, in a fixed order; nested clauses have none of their own. */
export function clauseTerms(c: Clause): Term[] {
  switch (c.kind) {
    case 'type': return [c.id, c.type];
    case 'attr': return [c.id, c.value];
    case 'edge': return [c.edgeType, c.from, c.to, c.id];
    case 'pred': return c.args;
    case 'reach': return [c.from, c.to, c.depth];
    case 'not':
    case 'or': return [];
  }
}

/** Every named variable a clause mentions, nested clauses included. */
export function varsOf(c: Clause, into: Set<string> = new Set()): Set<string> {
  for (const t of clauseTerms(c)) if (t.t === 'var') into.add(t.name);
  if (c.kind === 'not') for (const d of c.body) varsOf(d, into);
  if (c.kind === 'or') for (const b of c.branches) for (const d of b) varsOf(d, into);
  return into;
}

/** Variables a clause binds when it succeeds: patterns and reach bind theirs, `or` what every branch binds. */
export function bindsOf(c: Clause): Set<string> {
  switch (c.kind) {
    case 'pred':
    case 'not':
      return new Set();
    case 'or': {
      const [first, ...rest] = c.branches.map(bindsOfList);
      return new Set([...(first ?? [])].filter((v) => rest.every((b) => b.has(v))));
    }
    default:
      return new Set(clauseTerms(c).flatMap((t) => (t.t === 'var' ? [t.name] : [])));
  }
}

export function bindsOfList(list: Clause[]): Set<string> {
  const out = new Set<string>();
  for (const c of list) for (const v of bindsOf(c)) out.add(v);
  return out;
}
