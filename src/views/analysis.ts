// Static analysis of a view query for incremental maintenance: which variables to seed, and with what,
// so that re-evaluating the query seeded that way finds every solution a transaction can change.
//
// The claim (docs/ARCHITECTURE.md, "Views"): a solution's membership changes between slices X-1 and X
// only if a clause's truth changes for it. A pattern reads one entity (type, attr: the id; edge: the edge,
// whose creation and termination also touch both ends), so its truth changes only when that entity is
// touched by tx X — a *touched* probe on the variable holding it finds the solution. A predicate reads
// bound values only. The rest reach further, and each gets a probe that names a variable of the outer
// solution plus a way to compute the candidate values of that variable:
//   - `not` / non-trivial `or` branch: the sub-list's solutions that changed are found the same way, one
//     level down, on the sub-list's positive part (patterns, reach, positive `or`s: a superset of its
//     solutions), and projected onto a variable the sub-list shares with the outer list;
//   - `reach`: a shortest path that appears or disappears uses an edge of its type the tx created or
//     terminated, so its source lies within maxDepth of that edge's ends (a BFS against the direction).
// Constants in entity positions cannot be seeded: touching such an entity recomputes the view in full
// (`watchIds`), as does a change of an edge type a `reach` with two constant ends walks. What the analysis
// cannot cover (a `not` sharing no variable it binds) falls back to a full recomputation per tx.

import {
  bindsOfList, varsOf, type Clause, type ParsedQuery, type ReachClause, type Term,
} from '../query/lang/ast.js';
import { planList, type Plan } from '../query/lang/plan.js';

/** Where a probe's seed values come from. */
export type ProbeSource =
  | { k: 'touched' }
  | { k: 'reach'; clause: ReachClause; end: 'from' | 'to' }
  /** Solutions of `list` (a positive sub-list) that tx X may change, found by `probes`, projected onto the variable. */
  | { k: 'sub'; list: Clause[]; probes: Probe[]; plans: Map<string, Plan> };

/** Seeding `variable` with the values of `source` finds (a superset of) the solutions tx X changes. */
export interface Probe {
  variable: string;
  source: ProbeSource;
}

export interface ViewAnalysis {
  /** The view's `where` with every anonymous variable named (`?#n`), so that it can be seeded. */
  where: Clause[];
  probes: Probe[];
  /** One plan of `where` per probed variable, seeded with it. */
  plans: Map<string, Plan>;
  /** Entity ids written as constants in entity positions: touching one recomputes the view in full. */
  watchIds: Set<string>;
  /** Edge types walked by a `reach` with no variable end: any change of such an edge recomputes in full. */
  watchEdgeTypes: Set<string>;
  /** Why this view is recomputed in full after every committed tx, or null when it is maintained incrementally. */
  fallback: string | null;
}

interface Acc {
  watchIds: Set<string>;
  watchEdgeTypes: Set<string>;
  fallback: string | null;
  fresh: number;
}

/** Names every anonymous variable (`?#n` cannot be written in a query, so it clashes with nothing). */
function renameList(list: Clause[], acc: Acc): Clause[] {
  const term = (t: Term): Term => (t.t === 'any' ? { t: 'var', name: `?#${acc.fresh++}` } : t);
  return list.map((c): Clause => {
    switch (c.kind) {
      case 'type': return { ...c, id: term(c.id), type: term(c.type) };
      case 'attr': return { ...c, id: term(c.id), value: term(c.value) };
      case 'edge': return { ...c, edgeType: term(c.edgeType), from: term(c.from), to: term(c.to), id: term(c.id) };
      case 'reach': return { ...c, from: term(c.from), to: term(c.to) }; // depth is a number, never an entity
      case 'pred': return c;
      case 'not': return { ...c, body: renameList(c.body, acc) };
      case 'or': return { ...c, branches: c.branches.map((b) => renameList(b, acc)) };
    }
  });
}

/** The positive part of a clause list: no predicate, no `not`; an `or` with an empty positive branch is dropped. */
function positive(list: Clause[]): Clause[] {
  return list.flatMap((c): Clause[] => {
    if (c.kind === 'pred' || c.kind === 'not') return [];
    if (c.kind !== 'or') return [c];
    const branches = c.branches.map(positive);
    return branches.some((b) => b.length === 0) ? [] : [{ ...c, branches }];
  });
}

function constantId(t: Term): string | null {
  return t.t === 'const' && t.value.t === 's' ? t.value.v : null;
}

class ProbeList {
  readonly probes: Probe[] = [];
  private readonly touched = new Set<string>();

  touch(t: Term, bound: Set<string>, acc: Acc): void {
    if (t.t === 'var' && bound.has(t.name)) {
      if (!this.touched.has(t.name)) this.probes.push({ variable: t.name, source: { k: 'touched' } });
      this.touched.add(t.name);
      return;
    }
    const id = constantId(t);
    if (id !== null) acc.watchIds.add(id);
  }
}

/** A variable shared between `inner` and the outer list to carry a sub-list's probes out, entity-like first. */
function interfaceVar(candidates: Set<string>, bound: Set<string>, innerBound: Set<string>): string | null {
  const shared = [...candidates].filter((v) => bound.has(v) && innerBound.has(v)).sort();
  return shared[0] ?? null;
}

function subProbe(list: Clause[], candidates: Set<string>, bound: Set<string>, acc: Acc, path: string): Probe | null {
  const positiveList = positive(list);
  const innerBound = bindsOfList(positiveList);
  const variable = interfaceVar(candidates, bound, innerBound);
  if (variable === null) {
    acc.fallback ??= `${path} shares no variable it binds with the rest of the query`;
    return null;
  }
  const probes = analyzeList(list, innerBound, acc);
  const plans = new Map(probes.map((p) => [p.variable, { steps: planList(positiveList, new Set([p.variable])), seeds: [p.variable] }]));
  return { variable, source: { k: 'sub', list: positiveList, probes, plans } };
}

/** An `or` branch whose variables are all bound outside it and that reads only single entities needs no sub-probe. */
function isSimpleBranch(branch: Clause[], bound: Set<string>): boolean {
  return branch.every((c) => (c.kind === 'type' || c.kind === 'attr' || c.kind === 'edge' || c.kind === 'pred') && [...varsOf(c)].every((v) => bound.has(v)));
}

function analyzeReach(c: ReachClause, bound: Set<string>, acc: Acc, out: ProbeList): void {
  out.touch(c.from, bound, acc);
  out.touch(c.to, bound, acc);
  if (c.from.t === 'var') out.probes.push({ variable: c.from.name, source: { k: 'reach', clause: c, end: 'from' } });
  else if (c.to.t === 'var') out.probes.push({ variable: c.to.name, source: { k: 'reach', clause: c, end: 'to' } });
  else acc.watchEdgeTypes.add(c.edgeType);
}

/** Probes of one clause list whose solutions bind `bound` (the list's positive bindings). */
function analyzeList(list: Clause[], bound: Set<string>, acc: Acc): Probe[] {
  const out = new ProbeList();
  for (const c of list) {
    switch (c.kind) {
      case 'type':
      case 'attr':
        out.touch(c.id, bound, acc);
        break;
      case 'edge':
        for (const t of [c.id, c.from, c.to]) out.touch(t, bound, acc);
        break;
      case 'reach':
        analyzeReach(c, bound, acc, out);
        break;
      case 'pred':
        break;
      case 'not': {
        const probe = subProbe(c.body, varsOf(c), bound, acc, c.path);
        if (probe) out.probes.push(probe);
        break;
      }
      case 'or':
        c.branches.forEach((branch, i) => {
          if (isSimpleBranch(branch, bound)) {
            for (const p of analyzeList(branch, bound, acc)) out.touch({ t: 'var', name: p.variable }, bound, acc);
            return;
          }
          const probe = subProbe(branch, new Set(branch.flatMap((d) => [...varsOf(d)])), bound, acc, `${c.path}/${i}`);
          if (probe) out.probes.push(probe);
        });
        break;
    }
  }
  return out.probes;
}

/** Analyzes a parsed view query; never throws (what cannot be planned seeded falls back to full recomputation). */
export function analyzeView(q: ParsedQuery): ViewAnalysis {
  const acc: Acc = { watchIds: new Set(), watchEdgeTypes: new Set(), fallback: null, fresh: 0 };
  const where = renameList(q.where, acc);
  try {
    const probes = analyzeList(where, bindsOfList(where), acc);
    const plans = new Map<string, Plan>();
    for (const p of probes) if (!plans.has(p.variable)) plans.set(p.variable, { steps: planList(where, new Set([p.variable])), seeds: [p.variable] });
    return { where, probes, plans, watchIds: acc.watchIds, watchEdgeTypes: acc.watchEdgeTypes, fallback: acc.fallback };
  } catch (err) {
    const reason = `the query cannot be planned seeded (${err instanceof Error ? err.message : String(err)})`;
    return { where, probes: [], plans: new Map(), watchIds: acc.watchIds, watchEdgeTypes: acc.watchEdgeTypes, fallback: reason };
  }
}
