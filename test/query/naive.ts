// A deliberately naive query evaluator for the differential test: nested loops over a fully listed
// slice, clauses in written order (binders, then `or`, then filters), reachability by enumerating walks
// level by level (no visited set, no index). Only the plain JSON scalars the test's generator writes.

export type Scalar = string | number | boolean;
export type Binding = Record<string, Scalar>;

export interface NaiveEntity {
  id: string;
  kind: 'node' | 'edge';
  type: string;
  from?: string;
  to?: string;
  attrs: Record<string, unknown>;
}

export type QueryJson = Record<string, any>;
type Clause = Record<string, any>;

const isVar = (t: unknown): t is string => typeof t === 'string' && t.startsWith('?');

/** Binds or checks one term against a value; null when they disagree. */
function unify(b: Binding, term: unknown, value: Scalar): Binding | null {
  if (term === '?_') return b;
  if (isVar(term)) {
    if (Object.hasOwn(b, term)) return b[term] === value ? b : null;
    return { ...b, [term]: value };
  }
  return term === value ? b : null;
}

function unifyAll(b: Binding, pairs: [unknown, Scalar][]): Binding | null {
  let out: Binding | null = b;
  for (const [term, value] of pairs) {
    if (out === null) return null;
    out = unify(out, term, value);
  }
  return out;
}

function valuesOf(e: NaiveEntity, attr: string): Scalar[] {
  const v = e.attrs[attr];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]) as Scalar[];
}

/** Shortest walk length from `start` to each node, walks enumerated level by level up to maxDepth. */
function distances(slice: NaiveEntity[], start: string, r: Clause): Map<string, number> {
  const dist = new Map<string, number>();
  const edges = slice.filter((e) => e.kind === 'edge' && e.type === r['edge']);
  const dir = r['direction'] ?? 'out';
  let level = new Set([start]);
  for (let k = 1; k <= (r['maxDepth'] ?? 1000) && level.size > 0; k++) {
    const next = new Set<string>();
    for (const e of edges) {
      if (dir !== 'in' && level.has(e.from!)) next.add(e.to!);
      if (dir !== 'out' && level.has(e.to!)) next.add(e.from!);
    }
    for (const n of next) if (!dist.has(n)) dist.set(n, k);
    level = next;
  }
  if ((r['minDepth'] ?? 1) === 0) dist.set(start, 0);
  for (const [n, d] of dist) if (d < (r['minDepth'] ?? 1)) dist.delete(n);
  return dist;
}

function matchReach(slice: NaiveEntity[], b: Binding, r: Clause): Binding[] {
  const from = r['from'];
  const nodes = slice.filter((e) => e.kind === 'node').map((e) => e.id);
  const fixed = isVar(from) ? (from !== '?_' && Object.hasOwn(b, from) ? b[from] : undefined) : from;
  const sources = fixed === undefined ? nodes : nodes.filter((n) => n === fixed);
  const out: Binding[] = [];
  for (const s of sources) {
    for (const [n, d] of distances(slice, s, r)) {
      const m = unifyAll(b, [[from, s], [r['to'], n], [r['depth'] ?? '?_', d]]);
      if (m) out.push(m);
    }
  }
  return out;
}

function match(slice: NaiveEntity[], b: Binding, c: Clause): Binding[] {
  const out: Binding[] = [];
  const keep = (m: Binding | null): void => {
    if (m) out.push(m);
  };
  if ('reach' in c) return matchReach(slice, b, c['reach']);
  for (const e of slice) {
    if ('edge' in c) {
      if (e.kind === 'edge') keep(unifyAll(b, [[c['edge'], e.type], [c['from'], e.from!], [c['to'], e.to!], [c['id'] ?? '?_', e.id]]));
    } else if ('attr' in c) {
      for (const v of valuesOf(e, c['attr'])) keep(unifyAll(b, [[c['id'], e.id], [c['value'], v]]));
    } else if (c['kind'] === undefined || c['kind'] === e.kind) {
      keep(unifyAll(b, [[c['id'], e.id], [c['type'], e.type]]));
    }
  }
  return out;
}

/** Variables a clause binds: patterns all theirs, `or` those every branch binds. */
function binds(c: Clause): Set<string> {
  if ('pred' in c || 'not' in c) return new Set();
  if ('or' in c) {
    const sets = (c['or'] as Clause[][]).map((br) => new Set(br.flatMap((x) => [...binds(x)])));
    return new Set([...sets[0]!].filter((v) => sets.every((s) => s.has(v))));
  }
  const terms = 'reach' in c ? [c['reach']['from'], c['reach']['to'], c['reach']['depth']] : Object.entries(c).filter(([k]) => k !== 'attr' && k !== 'kind').map(([, v]) => v);
  return new Set(terms.filter((t): t is string => isVar(t) && t !== '?_'));
}

const RANK: Record<string, number> = { boolean: 0, number: 1, string: 2 };

export function compareScalars(a: Scalar | null, b: Scalar | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const r = RANK[typeof a]! - RANK[typeof b]!;
  if (r !== 0) return r;
  return a < b ? -1 : a > b ? 1 : 0;
}

function arg(b: Binding, t: unknown): Scalar {
  return isVar(t) ? b[t]! : (t as Scalar);
}

function predHolds(b: Binding, c: Clause): boolean {
  const [x, y] = c['args'] as unknown[];
  const a = arg(b, x);
  switch (c['pred']) {
    case '=': return a === arg(b, y);
    case '!=': return a !== arg(b, y);
    case 'in': return (y as Scalar[]).includes(a);
    case 'prefix': return typeof a === 'string' && typeof arg(b, y) === 'string' && a.startsWith(arg(b, y) as string);
  }
  const v = arg(b, y);
  if (typeof a !== typeof v) return false;
  const cmp = compareScalars(a, v);
  return ({ '<': cmp < 0, '<=': cmp <= 0, '>': cmp > 0, '>=': cmp >= 0 } as Record<string, boolean>)[c['pred']]!;
}

function pick(b: Binding, keys: Set<string>): Binding {
  return Object.fromEntries(Object.entries(b).filter(([k]) => keys.has(k)));
}

export function evalList(slice: NaiveEntity[], list: Clause[], input: Binding[]): Binding[] {
  let sols = input;
  for (const c of list) if (!('pred' in c || 'not' in c || 'or' in c)) sols = sols.flatMap((b) => match(slice, b, c));
  for (const c of list) {
    if (!('or' in c)) continue;
    const exports = binds(c);
    sols = sols.flatMap((b) => {
      const keys = new Set([...Object.keys(b), ...exports]);
      return (c['or'] as Clause[][]).flatMap((br) => evalList(slice, br, [b])).map((r) => pick(r, keys));
    });
  }
  for (const c of list) {
    if ('pred' in c) sols = sols.filter((b) => predHolds(b, c));
    if ('not' in c) sols = sols.filter((b) => evalList(slice, c['not'], [b]).length === 0);
  }
  return sols;
}

function dedupe(sols: Binding[]): Binding[] {
  const seen = new Map<string, Binding>();
  for (const b of sols) seen.set(JSON.stringify(Object.entries(b).sort(([x], [y]) => (x < y ? -1 : 1))), b);
  return [...seen.values()];
}

function aggregateOf(fn: string, values: Scalar[]): Scalar | null {
  const nums = values.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  const sorted = [...values].sort(compareScalars);
  switch (fn) {
    case 'count': return values.length;
    case 'countDistinct': return new Set(values).size;
    case 'min': return sorted[0] ?? null;
    case 'max': return sorted.at(-1) ?? null;
    case 'sum': return nums.length === 0 ? null : nums.reduce((s, v) => s + v, 0);
    case 'avg': return nums.length === 0 ? null : nums.reduce((s, v) => s + v, 0) / nums.length;
  }
  throw new Error(`unknown aggregate ${fn}`);
}

export function naiveQuery(slice: NaiveEntity[], q: QueryJson): { columns: string[]; rows: (Scalar | null)[][] } {
  const sols = dedupe(evalList(slice, q['where'], [{}]));
  const find = q['find'] as (string | Record<string, string>)[];
  const aggOf = (f: Record<string, string>): [string, string] => Object.entries(f).find(([k]) => k !== 'as')! as [string, string];
  const columns = find.map((f) => (typeof f === 'string' ? f : (f['as'] ?? `${aggOf(f)[0]}(${aggOf(f)[1]})`)));
  let rows: (Scalar | null)[][];
  if (find.every((f) => typeof f === 'string')) {
    const seen = new Map<string, Scalar[]>();
    for (const b of sols) {
      const row = (find as string[]).map((v) => b[v]!);
      seen.set(JSON.stringify(row), row);
    }
    rows = [...seen.values()];
  } else {
    const groups = new Map<string, Binding[]>();
    for (const b of sols) {
      const key = JSON.stringify(find.filter((f): f is string => typeof f === 'string').map((v) => b[v]));
      groups.set(key, [...(groups.get(key) ?? []), b]);
    }
    if (groups.size === 0 && find.every((f) => typeof f !== 'string')) groups.set('[]', []);
    rows = [...groups.values()].map((members) => find.map((f) => (typeof f === 'string' ? members[0]![f]! : aggregateOf(aggOf(f)[0], members.map((m) => m[aggOf(f)[1]]!)))));
  }
  const order: [number, boolean][] = ((q['orderBy'] ?? []) as unknown[]).map((o) => {
    const [name, dir] = Array.isArray(o) ? o : [o, 'asc'];
    return [columns.indexOf(name), dir === 'desc'];
  });
  const keys = [...order, ...columns.map((_, i): [number, boolean] => [i, false])];
  rows.sort((a, b) => {
    for (const [i, desc] of keys) {
      const c = compareScalars(a[i]!, b[i]!);
      if (c !== 0) return desc ? -c : c;
    }
    return 0;
  });
  const offset = q['offset'] ?? 0;
  return { columns, rows: rows.slice(offset, q['limit'] === undefined ? undefined : offset + q['limit']) };
}
