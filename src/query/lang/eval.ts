// Evaluates a plan over a slice, one step at a time, as relations of distinct solutions: patterns and
// reach extend them, predicates filter, `not` anti-joins on its shared variables, `or` unions branches.
// A caller may seed variables with candidate values (a view re-evaluating only the ids a tx touched).

import type { Value, WireValue } from '../../core/types.js';
import { coerceValue, compareValues, valueIdentity } from '../../core/values.js';
import type { PredClause, Term } from './ast.js';
import type { Budget } from './budget.js';
import { CachedSlice } from './cached-slice.js';
import { evalAttr, evalEdge, evalType } from './patterns.js';
import type { Plan, Step } from './plan.js';
import { evalReach } from './reach.js';
import { distinctOn, project, rowKey, UNIT, type Relation } from './relation.js';
import type { SliceReads } from '../slice.js';

export interface EvaluateOptions {
  budget: Budget;
  /** Live entities in the graph, when known: sizes the choice between per-node and bulk adjacency reads. */
  liveEntities?: number;
  /** Candidate values per seeded variable (the plan must have been made with these as seeds). */
  seeds?: ReadonlyMap<string, readonly Value[]>;
}

/** The distinct solutions of a plan's `where` over a slice. */
export async function evaluate(plan: Plan, reads: SliceReads, options: EvaluateOptions): Promise<Relation> {
  const slice = new CachedSlice(reads, options.budget, options.liveEntities);
  return runSteps(plan.steps, seededRelation(plan, options.seeds), slice);
}

function seededRelation(plan: Plan, seeds: ReadonlyMap<string, readonly Value[]> | undefined): Relation {
  let rel = UNIT;
  for (const name of plan.seeds) {
    const values = seeds?.get(name);
    if (values === undefined) throw new Error(`plan expects seed ${name}`);
    const rows = rel.rows.flatMap((row) => values.map((v) => [...row, v]));
    rel = { vars: [...rel.vars, name], rows: distinctOn(rows, rel.vars.map((_, i) => i).concat(rel.vars.length)) };
  }
  return rel;
}

async function runSteps(steps: Step[], input: Relation, slice: CachedSlice): Promise<Relation> {
  let rel = input;
  for (let i = 0; i < steps.length; i++) {
    // No solution can come back: skip the reads, but keep the shape the remaining steps would give.
    if (rel.rows.length === 0) return { vars: [...rel.vars, ...steps.slice(i).flatMap((s) => s.binds)], rows: [] };
    rel = await runStep(steps[i]!, rel, slice);
    slice.budget.check();
  }
  return rel;
}

function runStep(step: Step, rel: Relation, slice: CachedSlice): Promise<Relation> {
  switch (step.clause.kind) {
    case 'type': return evalType(step, rel, slice);
    case 'attr': return evalAttr(step, rel, slice);
    case 'edge': return evalEdge(step, rel, slice);
    case 'reach': return evalReach(step, rel, slice);
    case 'pred': return Promise.resolve(evalPred(step.clause, rel, slice.budget));
    case 'not': return evalNot(step, rel, slice);
    case 'or': return evalOr(step, rel, slice);
  }
}

/** `not`: evaluates the body once over the distinct shared bindings, then drops the solutions it extends. */
async function evalNot(step: Step, rel: Relation, slice: CachedSlice): Promise<Relation> {
  const shared = project(rel, step.shared);
  const extended = await runSteps(step.branches[0]!, shared, slice);
  const columns = step.shared.map((v) => extended.vars.indexOf(v));
  const matched = new Set(extended.rows.map((row) => rowKey(row, columns)));
  const own = step.shared.map((v) => rel.vars.indexOf(v));
  return { vars: rel.vars, rows: rel.rows.filter((row) => !matched.has(rowKey(row, own))) };
}

/** `or`: the union of the branches, each projected onto what every branch binds. */
async function evalOr(step: Step, rel: Relation, slice: CachedSlice): Promise<Relation> {
  const vars = [...rel.vars, ...step.binds];
  const rows: Value[][] = [];
  for (const branch of step.branches) {
    const out = await runSteps(branch, rel, slice);
    const columns = vars.map((v) => out.vars.indexOf(v));
    for (const row of out.rows) rows.push(columns.map((c) => row[c]!));
    slice.budget.solutions(rows.length);
  }
  return { vars, rows: distinctOn(rows, vars.map((_, i) => i)) };
}

/** The stored form of a constant outside any attribute: as an untyped attribute would store it. */
export function looseConstant(w: WireValue): Value {
  return w.t === 'j' ? w : (coerceValue(w, undefined) ?? w);
}

/** Kinds of values with an order; values of different kinds are never <, <=, > or >= each other. */
function orderKind(v: Value): string | null {
  switch (v.t) {
    case 'n':
    case 'l': return 'number';
    case 's': return 'string';
    case 'i': return 'instant';
    case 'b': return 'boolean';
    default: return null;
  }
}

/** Whether a predicate holds; `set` holds the identities of `in`'s constants. */
export function predicateHolds(op: PredClause['op'], a: Value, b: Value | null, set: Set<string> | null): boolean {
  switch (op) {
    case '=': return valueIdentity(a) === valueIdentity(b!);
    case '!=': return valueIdentity(a) !== valueIdentity(b!);
    case 'in': return set!.has(valueIdentity(a));
    case 'prefix': return a.t === 's' && b!.t === 's' && a.v.startsWith(b!.v);
    default: {
      const kind = orderKind(a);
      if (kind === null || kind !== orderKind(b!)) return false;
      const c = compareValues(a, b!);
      return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
    }
  }
}

function evalPred(c: PredClause, rel: Relation, budget: Budget): Relation {
  const getters = c.args.map((t: Term) => {
    if (t.t === 'const') {
      const v = looseConstant(t.value);
      return () => v;
    }
    const column = t.t === 'var' ? rel.vars.indexOf(t.name) : -1;
    if (column < 0) throw new Error(`predicate at ${c.path} ran before its variables were bound`);
    return (row: Value[]) => row[column]!;
  });
  const set = c.set === null ? null : new Set(c.set.map((w) => valueIdentity(looseConstant(w))));
  const [first, second] = getters;
  const rows = rel.rows.filter((row) => {
    budget.tick();
    return predicateHolds(c.op, first!(row), second ? second(row) : null, set);
  });
  return { vars: rel.vars, rows };
}
