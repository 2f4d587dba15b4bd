// The query entry point: parse and plan (all static errors, before any wait), choose the basis from
// the body or the query string, evaluate over the slice (or its speculative overlay), finish the answer.

import type { Limits } from '../../core/limits.js';
import type { QueryResult, ReadOptions } from '../../core/strata-api.js';
import type { Value } from '../../core/types.js';
import type { Schema } from '../../materializer/state.js';
import type { GraphReader } from '../reader.js';
import { StoreSlice, type SliceReads } from '../slice.js';
import type { ParsedQuery } from './ast.js';
import { Budget } from './budget.js';
import { evaluate } from './eval.js';
import { finish } from './finish.js';
import { parseQuery, queryError } from './parse.js';
import { planQuery, planToJson, type Plan } from './plan.js';
import { speculativeSlice } from './speculative.js';

export interface PreparedQuery {
  query: ParsedQuery;
  plan: Plan;
}

/**
 * Parses and plans a query body: every malformed query fails here, with its JSON pointer. `seedVars`
 * are variables the caller will bind to candidate values at run time (RunOptions.seeds) — e.g. a view
 * re-evaluating its query only for the ids a transaction touched; the planner treats them as bound.
 */
export function prepareQuery(body: unknown, limits: Limits, seedVars: string[] = []): PreparedQuery {
  const query = parseQuery(body, limits);
  return { query, plan: planQuery(query, seedVars) };
}

/** The basis options of a query: `at`/`asOf` come from the body or the query string, not both. */
export function queryReadOptions(q: ParsedQuery, options: ReadOptions): ReadOptions {
  if (q.at === null && q.asOf === null) return options;
  if (options.at !== undefined || options.asOf !== undefined) {
    throw queryError(q.at !== null ? '/at' : '/asOf', 'the basis is given both in the body and in the query string; give it once');
  }
  const out: ReadOptions = { ...options };
  if (q.at !== null) out.at = q.at;
  if (q.asOf !== null) out.asOf = q.asOf;
  return out;
}

export interface GraphSlices {
  reader: GraphReader;
  schemaAt(basis: number): Schema;
  /** The number of live entities (latest), a size hint for the evaluator; optional. */
  liveEntities?(): number;
}

export interface RunOptions {
  /** Candidate values of seeded variables; the plan must have been made with them (planQuery seeds). */
  seeds?: ReadonlyMap<string, readonly Value[]>;
  /** Clock for the time limit (ms), injectable for tests. */
  now?: () => number;
}

/** Evaluates a prepared query as of `basis`; with `with` ops, over the slice those ops would produce. */
export async function runQuery(graph: GraphSlices, prepared: PreparedQuery, basis: number, limits: Limits, options: RunOptions = {}): Promise<QueryResult> {
  const { query, plan } = prepared;
  const budget = new Budget(query.timeoutMs ?? limits.queryTimeMsMax, limits.queryBindingsMax, options.now);
  const base = new StoreSlice(graph.reader, basis, graph.schemaAt(basis));
  const slice: SliceReads = query.with === null ? base : await speculativeSlice(graph.reader, base, query.with);
  const solutions = await evaluate(plan, slice, {
    budget,
    ...(graph.liveEntities ? { liveEntities: graph.liveEntities() } : {}),
    ...(options.seeds ? { seeds: options.seeds } : {}),
  });
  const answer = finish(query, solutions, limits.queryRowsMax);
  return {
    basis,
    columns: answer.columns,
    rows: answer.rows,
    ...(query.with === null ? {} : { speculative: true as const }),
    ...(query.explain ? { plan: planToJson(plan.steps) } : {}),
  };
}
