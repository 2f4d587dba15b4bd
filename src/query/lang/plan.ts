// Index-aware planning: orders the clauses of each clause list so that constants, bound variables and
// types drive lookups (entity by id, value index, adjacency, type index) before scans, runs filters as
// soon as their variables are bound, and checks that every variable a filter or `find` needs is bound.

import {
  bindsOf, bindsOfList, termVar, varsOf,
  type Clause, type EdgeClause, type ParsedQuery, type ReachClause, type Term,
} from './ast.js';
import { queryError } from './parse-clauses.js';

/** How a step reaches its data; also what `explain` shows. */
export type Access =
  | 'entity' // the id is bound: one read per distinct id
  | 'valueIndex' // the attribute value is bound: the value index
  | 'attrIndex' // every holder of the attribute
  | 'typeIndex' // the type is bound: the type index
  | 'adjacencyOut' // the `from` node is bound: its out-edges
  | 'adjacencyIn' // the `to` node is bound: its in-edges
  | 'scan' // every live entity (or edge)
  | 'reachForward' // BFS from each bound `from`
  | 'reachBackward' // BFS against the edges from each bound `to`
  | 'reachAll' // BFS from every possible source
  | 'filter' // a predicate over bound variables
  | 'antiJoin' // `not`: drop solutions its body extends
  | 'union'; // `or`: the union of its branches

export interface Step {
  clause: Clause;
  access: Access;
  /** Estimated reads per incoming solution, for ordering only. */
  cost: number;
  /** Variables the step adds to the solutions. */
  binds: string[];
  /** `or`: one plan per branch; `not`: its body's plan. */
  branches: Step[][];
  /** `not`: the variables its body shares with the solutions (it is evaluated on their projection). */
  shared: string[];
}

export interface Plan {
  steps: Step[];
  /** Variables bound before the first step (seeded by the caller, e.g. a view re-evaluating touched ids). */
  seeds: string[];
}

// Relative costs: a bound id is one read; an index lookup reads its matches; scans read everything.
// A constant value reads every holder of it whatever the solutions so far, so once variables are bound
// (a seeded view re-evaluation) following them is cheaper than the value index of a constant.
const COST = {
  entity: 1, valueIndex: 10, valueIndexConstant: 50, adjacency: 10, reachBound: 100, typeIndex: 1_000, edgeTypeIndex: 2_000,
  attrIndex: 5_000, edgeScan: 20_000, scan: 100_000, reachAll: 200_000,
} as const;

function isBound(t: Term, bound: Set<string>): boolean {
  return t.t === 'const' || (t.t === 'var' && bound.has(t.name));
}

function edgeAccess(c: EdgeClause, bound: Set<string>): [Access, number] {
  if (isBound(c.id, bound)) return ['entity', COST.entity];
  if (isBound(c.from, bound)) return ['adjacencyOut', COST.adjacency];
  if (isBound(c.to, bound)) return ['adjacencyIn', COST.adjacency];
  if (isBound(c.edgeType, bound)) return ['typeIndex', COST.edgeTypeIndex];
  return ['scan', COST.edgeScan];
}

function reachAccess(c: ReachClause, bound: Set<string>): [Access, number] {
  if (isBound(c.from, bound)) return ['reachForward', COST.reachBound];
  if (isBound(c.to, bound)) return ['reachBackward', COST.reachBound];
  return ['reachAll', COST.reachAll];
}

/** The access path of a pattern or reach clause given the bound variables, and its cost. */
export function accessFor(c: Clause, bound: Set<string>): [Access, number] {
  switch (c.kind) {
    case 'type':
      if (isBound(c.id, bound)) return ['entity', COST.entity];
      return isBound(c.type, bound) ? ['typeIndex', COST.typeIndex] : ['scan', COST.scan];
    case 'attr':
      if (isBound(c.id, bound)) return ['entity', COST.entity];
      if (!isBound(c.value, bound)) return ['attrIndex', COST.attrIndex];
      return ['valueIndex', c.value.t === 'const' ? COST.valueIndexConstant : COST.valueIndex];
    case 'edge':
      return edgeAccess(c, bound);
    case 'reach':
      return reachAccess(c, bound);
    case 'pred':
      return ['filter', 0];
    case 'not':
      return ['antiJoin', 0];
    case 'or':
      return ['union', 0];
  }
}

interface Candidate {
  clause: Clause;
  /** Variables that must be bound before the clause runs. */
  needs: Set<string>;
}

function intersect(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a].filter((v) => b.has(v)));
}

function subset(a: Set<string>, b: Set<string>): boolean {
  for (const v of a) if (!b.has(v)) return false;
  return true;
}

/** Where a variable is bound only in some branches of an `or`, for a more useful error. */
function partialOrHint(list: Clause[], v: string): string {
  for (const c of list) {
    if (c.kind === 'or' && c.branches.some((b) => bindsOfList(b).has(v))) return ` (the or at ${c.path} binds it in only some branches)`;
  }
  return '';
}

/** Needs of each clause, checking that predicates only test variables something binds. */
function candidates(list: Clause[], bound0: Set<string>): Candidate[] {
  return list.map((clause, i) => {
    const others = new Set([...bound0, ...bindsOfList(list.filter((_, j) => j !== i))]);
    if (clause.kind === 'pred') {
      clause.args.forEach((t, k) => {
        const v = termVar(t);
        if (t.t === 'any') throw queryError(`${clause.path}/args/${k}`, 'a predicate cannot test the anonymous variable ?_');
        if (v !== null && !others.has(v)) {
          throw queryError(`${clause.path}/args/${k}`, `${v} is not bound by any clause; predicates only test bound variables${partialOrHint(list, v)}`);
        }
      });
      return { clause, needs: varsOf(clause) };
    }
    if (clause.kind === 'not') return { clause, needs: intersect(varsOf(clause), others) };
    if (clause.kind === 'or') {
      const own = bindsOf(clause);
      return { clause, needs: new Set([...intersect(varsOf(clause), others)].filter((v) => !own.has(v))) };
    }
    return { clause, needs: new Set() };
  });
}

/**
 * Branch plans of an `or`, memoized per set of bound variables it mentions: ordering a list re-costs
 * every ready `or` at each step, and without this nested ones would be re-planned exponentially often.
 */
const branchPlans = new WeakMap<Clause, Map<string, Step[][]>>();

function planBranches(c: Clause & { kind: 'or' }, bound: Set<string>): Step[][] {
  const relevant = new Set([...varsOf(c)].filter((v) => bound.has(v)));
  const key = JSON.stringify([...relevant].sort());
  let byBound = branchPlans.get(c);
  if (byBound === undefined) branchPlans.set(c, (byBound = new Map()));
  let plans = byBound.get(key);
  if (plans === undefined) byBound.set(key, (plans = c.branches.map((b) => planList(b, relevant))));
  return plans;
}

function makeStep(c: Clause, bound: Set<string>): Step {
  const [access, cost] = accessFor(c, bound);
  const binds = [...bindsOf(c)].filter((v) => !bound.has(v));
  if (c.kind === 'or') {
    const branches = planBranches(c, bound);
    const total = branches.reduce((sum, steps) => sum + steps.reduce((s, st) => s + st.cost, 0), 0);
    return { clause: c, access, cost: total, binds, branches, shared: [] };
  }
  if (c.kind === 'not') {
    const shared = [...varsOf(c)].filter((v) => bound.has(v)).sort();
    return { clause: c, access, cost, binds: [], branches: [planList(c.body, new Set(shared))], shared };
  }
  return { clause: c, access, cost, binds, branches: [], shared: [] };
}

/** Greedy ordering: ready filters first, else the cheapest clause that can run now (ties: written order). */
export function planList(list: Clause[], bound0: Set<string>): Step[] {
  const remaining = candidates(list, bound0);
  const bound = new Set(bound0);
  const steps: Step[] = [];
  while (remaining.length > 0) {
    const ready = remaining.filter((r) => subset(r.needs, bound));
    if (ready.length === 0) {
      const stuck = remaining[0]!;
      const missing = [...stuck.needs].filter((v) => !bound.has(v));
      throw queryError(stuck.clause.path, `cannot be evaluated: it needs ${missing.join(', ')} bound first, and only clauses that wait for it bind them`);
    }
    const filter = ready.find((r) => r.clause.kind === 'pred' || r.clause.kind === 'not');
    let chosen: Step | null = null;
    let chosenCandidate: Candidate | null = null;
    for (const r of filter ? [filter] : ready) {
      const step = makeStep(r.clause, bound);
      if (chosen === null || step.cost < chosen.cost) {
        chosen = step;
        chosenCandidate = r;
      }
    }
    steps.push(chosen!);
    remaining.splice(remaining.indexOf(chosenCandidate!), 1);
    for (const v of chosen!.binds) bound.add(v);
  }
  return steps;
}

/** Plans the `where` of a query and checks that every found variable is bound. */
export function planQuery(q: ParsedQuery, seeds: string[] = []): Plan {
  const steps = planList(q.where, new Set(seeds));
  const bound = new Set([...seeds, ...bindsOfList(q.where)]);
  q.find.forEach((f, i) => {
    if (!bound.has(f.name)) {
      throw queryError(`/find/${i}`, `${f.name} is not bound by any clause of "where"${partialOrHint(q.where, f.name)}`);
    }
  });
  return { steps, seeds: [...seeds] };
}

/** The JSON form of a plan, for `explain`. */
export interface PlanJson {
  clause: string;
  access: Access;
  binds: string[];
  branches?: PlanJson[][];
}

export function planToJson(steps: Step[]): PlanJson[] {
  return steps.map((s) => ({
    clause: s.clause.path,
    access: s.access,
    binds: s.binds,
    ...(s.branches.length > 0 ? { branches: s.branches.map(planToJson) } : {}),
  }));
}
