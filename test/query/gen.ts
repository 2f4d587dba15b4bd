// Seeded generators for the query differential test: random graph histories published through
// db.transact (nodes, edges, typed and untyped attributes, cardinality-many tags, terminations), and
// random queries from a small grammar (patterns, joins, predicates, not, or, reach, aggregates).

import type { StrataDb } from '../../src/core/strata-api.js';
import type { Op, WireValue } from '../../src/core/types.js';
import { Rng } from '../reference/generator.js';
import type { QueryJson, Scalar } from './naive.js';

export const NODE_TYPES = ['Person', 'Company', 'Order'];
export const EDGE_TYPES = ['knows', 'worksAt', 'placedBy'];
export const NAMES = ['Ada', 'Al', 'Bob', 'Bea', 'Cy', 'Dee'];
export const STATUSES = ['open', 'closed', 'pending'];
export const TAGS = ['red', 'green', 'blue'];
export const AGES = [1, 2, 3, 4, 5, 6];
export const SCORES = [0.5, 1.5, 2, 2.25, 7];

const wire = (v: Scalar): WireValue =>
  typeof v === 'string' ? { t: 's', v } : typeof v === 'boolean' ? { t: 'b', v } : Number.isSafeInteger(v) ? { t: 'l', v: String(v) } : { t: 'n', v };

/** An attribute, its value pool, and whether it is cardinality-many. */
export const ATTRS: { attr: string; pool: Scalar[]; many: boolean }[] = [
  { attr: 'name', pool: NAMES, many: false },
  { attr: 'status', pool: STATUSES, many: false },
  { attr: 'age', pool: AGES, many: false },
  { attr: 'score', pool: SCORES, many: false },
  { attr: 'flag', pool: [true, false], many: false },
  { attr: 'tags', pool: TAGS, many: true },
  { attr: 'mixed', pool: ['x', 3, true, 'y', 2.5], many: false }, // untyped, values of several kinds
];

const SCHEMA: Op[] = [
  { op: 'defineAttr', attr: 'tags', valueType: 'string', cardinality: 'many', unique: false },
  { op: 'defineAttr', attr: 'age', valueType: 'long', cardinality: 'one', unique: false },
  { op: 'defineAttr', attr: 'score', valueType: 'double', cardinality: 'one', unique: false },
  { op: 'defineAttr', attr: 'status', valueType: 'string', cardinality: 'one', unique: false },
];

/** Live ids as the generator believes them; only committed txs change it. */
class LiveSet {
  nodes = new Set<string>();
  edges = new Map<string, [string, string]>();
  next = 0;
}

function randomAttrOps(rng: Rng, id: string): Op[] {
  const ops: Op[] = [];
  for (const a of ATTRS) {
    if (!rng.chance(0.45)) continue;
    const value = wire(rng.pick(a.pool));
    ops.push(a.many ? { op: 'add', id, attr: a.attr, value } : { op: 'set', id, attr: a.attr, value });
  }
  return ops;
}

function randomTx(rng: Rng, live: LiveSet): { ops: Op[]; apply: () => void } {
  const nodes = [...live.nodes];
  const roll = rng.float();
  if (roll < 0.35 || nodes.length < 3) {
    const id = `n${live.next++}`;
    return { ops: [{ op: 'create', id, type: rng.pick(NODE_TYPES) }, ...randomAttrOps(rng, id)], apply: () => live.nodes.add(id) };
  }
  if (roll < 0.7) {
    const id = `e${live.next++}`;
    const [from, to] = [rng.pick(nodes), rng.pick(nodes)];
    const ops: Op[] = [{ op: 'link', id, type: rng.pick(EDGE_TYPES), from, to }];
    if (rng.chance(0.3)) ops.push({ op: 'set', id, attr: 'age', value: wire(rng.pick(AGES)) });
    return { ops, apply: () => live.edges.set(id, [from, to]) };
  }
  if (roll < 0.85) {
    const id = rng.pick(nodes);
    const a = rng.pick(ATTRS);
    const value = wire(rng.pick(a.pool));
    const op: Op = a.many ? { op: rng.chance(0.5) ? 'add' : 'retract', id, attr: a.attr, value } : rng.chance(0.8) ? { op: 'set', id, attr: a.attr, value } : { op: 'unset', id, attr: a.attr };
    return { ops: [op], apply: () => undefined };
  }
  const edges = [...live.edges.keys()];
  if (rng.chance(0.6) && edges.length > 0) {
    const id = rng.pick(edges);
    return { ops: [{ op: 'terminate', id }], apply: () => live.edges.delete(id) };
  }
  const id = rng.pick(nodes);
  return {
    ops: [{ op: 'terminate', id }],
    apply: () => {
      live.nodes.delete(id);
      for (const [e, [f, t]] of live.edges) if (f === id || t === id) live.edges.delete(e);
    },
  };
}

/**
 * Publishes a random history; returns the last offset. `before(i)` runs before the i-th random tx (the
 * view tests define views mid-history with it); it does not touch the generator's random sequence.
 */
export async function publishRandomGraph(db: StrataDb, graph: string, seed: number, txCount: number, before?: (i: number) => Promise<void>): Promise<number> {
  const rng = new Rng(seed);
  const live = new LiveSet();
  const opts = { wait: true, timeoutMs: 10_000 };
  let last = (await db.transact(graph, { id: null, meta: {}, ops: SCHEMA }, opts)).offset;
  for (let i = 0; i < txCount; i++) {
    await before?.(i);
    const tx = randomTx(rng, live);
    const result = await db.transact(graph, { id: null, meta: {}, ops: tx.ops }, opts);
    if (result.status === 'committed') tx.apply();
    last = result.offset;
  }
  return last;
}

/** Builds one random query; every variable a filter or `find` uses is bound by some pattern. */
export class QueryGen {
  private fresh = 0;
  constructor(private readonly rng: Rng) {}

  private newVar(): string {
    return `?v${this.fresh++}`;
  }

  /** A pattern binding `anchor` (or a fresh var) and maybe more; returns the clause and the vars it binds. */
  private pattern(anchor: string | null, ids: string[]): { clause: Record<string, unknown>; binds: string[] } {
    const r = this.rng;
    const a = anchor ?? this.newVar();
    const kind = r.int(10);
    if (kind < 2) {
      const t = r.chance(0.85) ? r.pick(NODE_TYPES) : this.newVar();
      return { clause: { type: t, id: a, ...(r.chance(0.15) ? { kind: r.pick(['node', 'edge']) } : {}) }, binds: [a, ...(t.startsWith('?') ? [t] : [])] };
    }
    if (kind < 5) {
      const attr = r.pick(ATTRS);
      const value: Scalar | string = r.chance(0.35) ? r.pick(attr.pool) : r.chance(0.15) ? '?_' : this.newVar();
      const clause = { id: r.chance(0.1) && ids.length > 0 ? r.pick(ids) : a, attr: attr.attr, value };
      return { clause, binds: [clause.id, value].filter((t): t is string => typeof t === 'string' && t.startsWith('?') && t !== '?_') };
    }
    if (kind < 8) {
      const other = this.newVar();
      const out = r.chance(0.5);
      const edgeId = r.chance(0.2) ? this.newVar() : null;
      const edge = r.chance(0.85) ? r.pick(EDGE_TYPES) : this.newVar();
      const clause: Record<string, unknown> = { edge, from: out ? a : other, to: out ? other : a, ...(edgeId ? { id: edgeId } : {}) };
      return { clause, binds: [a, other, ...(edgeId ? [edgeId] : []), ...(edge.startsWith('?') ? [edge] : [])] };
    }
    const to = this.newVar();
    const depth = r.chance(0.5) ? this.newVar() : null;
    const reach: Record<string, unknown> = {
      from: a, edge: r.pick(EDGE_TYPES), to, direction: r.pick(['out', 'in', 'both']), maxDepth: 1 + r.int(4),
      ...(r.chance(0.3) ? { minDepth: r.int(2) } : {}), ...(depth ? { depth } : {}),
    };
    if (r.chance(0.5)) [reach['from'], reach['to']] = [to, a];
    return { clause: { reach }, binds: [a, to, ...(depth ? [depth] : [])] };
  }

  private predicate(bound: string[]): Record<string, unknown> {
    const r = this.rng;
    const x = r.pick(bound);
    const op = r.pick(['=', '!=', '<', '<=', '>', '>=', 'prefix', 'in']);
    const pool = [...NAMES, ...AGES, ...SCORES, ...STATUSES, 'n1', 'n', true];
    if (op === 'in') return { pred: 'in', args: [x, [r.pick(pool), r.pick(pool), r.pick(pool)]] };
    if (op === 'prefix') return { pred: 'prefix', args: [x, r.pick(['A', 'B', 'n', 'o', 'e1'])] };
    return { pred: op, args: [x, r.chance(0.4) ? r.pick(bound) : r.pick(pool)] };
  }

  /** A `not` or `or` anchored on a bound variable; `or` branches may export one shared fresh variable. */
  private compound(bound: string[], ids: string[]): { clause: Record<string, unknown>; binds: string[] } {
    const r = this.rng;
    const anchor = r.pick(bound);
    if (r.chance(0.5)) {
      const body = [this.pattern(anchor, ids).clause];
      if (r.chance(0.3)) body.push(this.pattern(anchor, ids).clause);
      return { clause: { not: body }, binds: [] };
    }
    const exported = r.chance(0.4) ? this.newVar() : null;
    const branch = (): Record<string, unknown>[] => {
      const attr = r.pick(ATTRS);
      const value = exported ?? (r.chance(0.5) ? r.pick(attr.pool) : this.newVar());
      const list = [{ id: anchor, attr: attr.attr, value }];
      if (r.chance(0.25)) list.push(this.pattern(anchor, ids).clause as { id: string; attr: string; value: Scalar });
      return list;
    };
    return { clause: { or: [branch(), branch(), ...(r.chance(0.3) ? [branch()] : [])] }, binds: exported ? [exported] : [] };
  }

  next(ids: string[]): QueryJson {
    const r = this.rng;
    this.fresh = 0;
    const where: Record<string, unknown>[] = [];
    const bound: string[] = [];
    const add = (p: { clause: Record<string, unknown>; binds: string[] }): void => {
      where.push(p.clause);
      for (const v of p.binds) if (!bound.includes(v)) bound.push(v);
    };
    while (bound.length === 0) add(this.pattern(null, ids));
    for (let i = r.int(3); i > 0; i--) add(this.pattern(r.chance(0.85) ? r.pick(bound) : null, ids));
    for (let i = r.int(3); i > 0; i--) {
      if (r.chance(0.5)) where.push(this.predicate(bound));
      else add(this.compound(bound, ids));
    }
    // Shuffle: the answer must not depend on the written order of the clauses.
    for (let i = where.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [where[i], where[j]] = [where[j]!, where[i]!];
    }
    return this.finish(where, bound);
  }

  private finish(where: Record<string, unknown>[], bound: string[]): QueryJson {
    const r = this.rng;
    const vars = [...new Set(Array.from({ length: 1 + r.int(Math.min(3, bound.length)) }, () => r.pick(bound)))];
    const find: (string | Record<string, string>)[] = [...vars];
    if (r.chance(0.3)) {
      if (r.chance(0.3)) find.shift();
      find.push({ [r.pick(['count', 'countDistinct', 'sum', 'min', 'max', 'avg'])]: r.pick(bound) });
      if (find.length === 0) find.push({ count: r.pick(bound) });
    }
    const q: QueryJson = { find, where };
    const columns = find.map((f) => (typeof f === 'string' ? f : `${Object.keys(f)[0]}(${Object.values(f)[0]})`));
    if (r.chance(0.4)) q['orderBy'] = [[r.pick(columns), r.pick(['asc', 'desc'])]];
    if (r.chance(0.3)) q['limit'] = 1 + r.int(5);
    if (r.chance(0.15)) q['offset'] = r.int(3);
    return q;
  }
}
