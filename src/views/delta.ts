// The row delta of one view for one committed transaction X: seeded re-evaluation of the view's query at
// slices X-1 and X for what the tx touched (analysis.ts says which variables, with which values), then an
// exact check of the candidate rows against the stored rows. Cost follows the tx, not the view's size.

import type { TxReport, Value } from '../core/types.js';
import { valueIdentity } from '../core/values.js';
import type { Schema } from '../materializer/state.js';
import type { ReachClause } from '../query/lang/ast.js';
import { Budget } from '../query/lang/budget.js';
import { CachedSlice, type Side } from '../query/lang/cached-slice.js';
import { evaluate } from '../query/lang/eval.js';
import { aggregateValues } from '../query/lang/finish.js';
import { planList, type Plan } from '../query/lang/plan.js';
import { reachFrom } from '../query/lang/reach.js';
import { idValue, type Relation } from '../query/lang/relation.js';
import type { GraphReader } from '../query/reader.js';
import { StoreSlice } from '../query/slice.js';
import type { Probe } from './analysis.js';
import { rowJson, rowKeyOf, type ViewRow, type ViewSpec } from './definition.js';

/** What the delta computation reads: slices of the graph as of any materialized offset. */
export interface SliceSource {
  reader: GraphReader;
  schemaAt(basis: number): Schema;
}

/** An edge the tx created or terminated: reach clauses over its type may change around its ends. */
export interface ChangedEdge {
  type: string;
  from: string;
  to: string;
}

/** What one committed tx touched, computed once and shared by every view. */
export interface TouchedSet {
  offset: number;
  ids: Set<string>;
  edges: ChangedEdge[];
  /** Attribute or type definitions changed: constants in patterns may coerce differently; recompute. */
  schemaChanged: boolean;
}

/** The ids a tx changed, both ends of every edge it created or terminated, and those edges. */
export async function touchedBy(report: TxReport, source: SliceSource): Promise<TouchedSet> {
  const ids = new Set<string>();
  const edges: ChangedEdge[] = [];
  const terminated: string[] = [];
  let schemaChanged = false;
  for (const c of report.changes) {
    if (c.kind === 'schema') {
      if (!('view' in c)) schemaChanged = true;
      continue;
    }
    ids.add(c.id);
    if (c.kind === 'created' && c.entity === 'edge') {
      ids.add(c.from).add(c.to);
      edges.push({ type: c.type, from: c.from, to: c.to });
    }
    if (c.kind === 'terminated') terminated.push(c.id);
  }
  // A terminated edge's ends are in its last version (the report names the edge only).
  const states = await Promise.all(terminated.map((id) => source.reader.storedAt(id, report.offset)));
  for (const e of states) {
    if (e?.kind !== 'edge') continue;
    ids.add(e.from!).add(e.to!);
    edges.push({ type: e.type, from: e.from!, to: e.to! });
  }
  return { offset: report.offset, ids, edges, schemaChanged };
}

/** Maintenance evaluates without the request time limit: a view's rows must be complete at every offset. */
function budget(): Budget {
  return new Budget(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
}

async function run(source: SliceSource, plan: Plan, basis: number, seeds: Map<string, readonly Value[]>): Promise<Relation> {
  return evaluate(plan, new StoreSlice(source.reader, basis, source.schemaAt(basis)), { budget: budget(), seeds });
}

function distinctValues(values: Iterable<Value>): Value[] {
  const out = new Map<string, Value>();
  for (const v of values) out.set(valueIdentity(v), v);
  return [...out.values()];
}

const SIDES: Record<ReachClause['direction'], readonly Side[]> = { out: ['out'], in: ['in'], both: ['out', 'in'] };
const REVERSED: Record<ReachClause['direction'], readonly Side[]> = { out: ['in'], in: ['out'], both: ['out', 'in'] };

/** Nodes within maxDepth of a changed edge's ends, against (from) or along (to) the walk, at both slices. */
async function reachValues(c: ReachClause, end: 'from' | 'to', touched: TouchedSet, source: SliceSource): Promise<Value[]> {
  const starts = [...new Set(touched.edges.filter((e) => e.type === c.edgeType).flatMap((e) => [e.from, e.to]))];
  if (starts.length === 0) return [];
  const sides = end === 'from' ? REVERSED[c.direction] : SIDES[c.direction];
  const found = new Set(starts);
  for (const basis of [touched.offset - 1, touched.offset]) {
    const slice = new CachedSlice(new StoreSlice(source.reader, basis, source.schemaAt(basis)), budget());
    for (const start of starts) {
      for (const node of (await reachFrom(slice, start, { edgeType: c.edgeType, sides, minDepth: 0, maxDepth: c.maxDepth })).keys()) found.add(node);
    }
  }
  return [...found].map(idValue);
}

/** The seed values of a probe for tx X (see analysis.ts). */
async function probeValues(probe: Probe, touched: TouchedSet, source: SliceSource): Promise<Value[]> {
  const s = probe.source;
  if (s.k === 'touched') return [...touched.ids].map(idValue);
  if (s.k === 'reach') return reachValues(s.clause, s.end, touched, source);
  const out: Value[] = [];
  for (const inner of s.probes) {
    const values = await probeValues(inner, touched, source);
    if (values.length === 0) continue;
    for (const basis of [touched.offset - 1, touched.offset]) {
      const rel = await run(source, s.plans.get(inner.variable)!, basis, new Map([[inner.variable, values]]));
      const column = rel.vars.indexOf(probe.variable);
      for (const row of rel.rows) out.push(row[column]!);
    }
  }
  return distinctValues(out);
}

/** Key tuples (by identity) of a relation's solutions, projected onto the view's key variables. */
type Keys = Map<string, Value[]>;

function keysOf(rel: Relation, keyVars: string[], into: Keys): void {
  const columns = keyVars.map((v) => rel.vars.indexOf(v));
  for (const row of rel.rows) {
    const values = columns.map((c) => row[c]!);
    into.set(JSON.stringify(values.map(valueIdentity)), values);
  }
}

function solutionSet(rel: Relation): Set<string> {
  return new Set(rel.rows.map((row) => JSON.stringify(row.map(valueIdentity))));
}

function sameSolutions(a: Relation, b: Relation): boolean {
  if (a.rows.length !== b.rows.length) return false;
  const seen = solutionSet(a);
  return b.rows.every((row) => seen.has(JSON.stringify(row.map(valueIdentity))));
}

/**
 * Candidate keys: rows of the solutions the tx may have changed, as of X-1 (`before`) and X (`after`).
 * Each probed variable is seeded with the same values at both slices, so the solutions of that region
 * differ between them exactly when some solution of the whole query did (`changed`).
 */
async function candidates(spec: ViewSpec, touched: TouchedSet, source: SliceSource): Promise<{ before: Keys; after: Keys; changed: boolean }> {
  const seeds = new Map<string, Value[]>();
  for (const probe of spec.analysis.probes) {
    const values = await probeValues(probe, touched, source);
    seeds.set(probe.variable, [...(seeds.get(probe.variable) ?? []), ...values]);
  }
  const before: Keys = new Map();
  const after: Keys = new Map();
  let changed = false;
  for (const [variable, values] of seeds) {
    if (values.length === 0) continue;
    const plan = spec.analysis.plans.get(variable)!;
    const seed = new Map([[variable, distinctValues(values)]]);
    const old = await run(source, plan, touched.offset - 1, seed);
    const now = await run(source, plan, touched.offset, seed);
    if (!sameSolutions(old, now)) changed = true;
    keysOf(old, spec.keyVars, before);
    keysOf(now, spec.keyVars, after);
  }
  return { before, after, changed };
}

/** The rows of a relation of solutions: distinct projections, or one aggregated row per group. */
export function rowsOf(spec: ViewSpec, rel: Relation): Map<string, ViewRow> {
  const { find } = spec.prepared.query;
  const keyColumns = spec.keyVars.map((v) => rel.vars.indexOf(v));
  const groups = new Map<string, Value[][]>();
  for (const row of rel.rows) {
    const key = rowKeyOf(keyColumns.map((c) => row[c]!)).toString('hex');
    const members = groups.get(key);
    if (members === undefined) groups.set(key, [row]);
    else members.push(row);
  }
  if (spec.aggregate && spec.keyVars.length === 0 && groups.size === 0) groups.set('', []);
  const out = new Map<string, ViewRow>();
  for (const [hex, members] of groups) {
    const cells = find.map((f) => {
      const column = rel.vars.indexOf(f.name);
      return f.kind === 'var' ? members[0]![column]! : aggregateValues(f.fn, members.map((row) => row[column]!));
    });
    out.set(hex, { key: Buffer.from(hex, 'hex'), cells });
  }
  return out;
}

/** Every row of the view as of `basis` (a full evaluation). */
export async function allRows(spec: ViewSpec, source: SliceSource, basis: number): Promise<Map<string, ViewRow>> {
  return rowsOf(spec, await run(source, spec.prepared.plan, basis, new Map()));
}

/** Seeding all key variables takes their cross product: past this many tuples, seed the narrowest one. */
function seedVarsFor(spec: ViewSpec, keys: Value[][]): { vars: string[]; seeds: Map<string, Value[]> } {
  const perVar = spec.keyVars.map((_, i) => distinctValues(keys.map((k) => k[i]!)));
  const product = perVar.reduce((p, values) => p * values.length, 1);
  if (product <= 4 * keys.length + 64) return { vars: spec.keyVars, seeds: new Map(spec.keyVars.map((v, i) => [v, perVar[i]!])) };
  let narrowest = 0;
  perVar.forEach((values, i) => {
    if (values.length < perVar[narrowest]!.length) narrowest = i;
  });
  return { vars: [spec.keyVars[narrowest]!], seeds: new Map([[spec.keyVars[narrowest]!, perVar[narrowest]!]]) };
}

const keyPlans = new WeakMap<ViewSpec, Map<string, Plan>>();

/** The view's rows for some keys as of `basis`: its query seeded with the key values, exact per key. */
async function rowsForKeys(spec: ViewSpec, source: SliceSource, keys: Keys, basis: number): Promise<Map<string, ViewRow>> {
  if (keys.size === 0) return new Map();
  const { vars, seeds } = seedVarsFor(spec, [...keys.values()]);
  let plans = keyPlans.get(spec);
  if (plans === undefined) keyPlans.set(spec, (plans = new Map()));
  const planKey = JSON.stringify(vars);
  let plan = plans.get(planKey);
  if (plan === undefined) plans.set(planKey, (plan = { steps: planList(spec.prepared.query.where, new Set(vars)), seeds: vars }));
  const wanted = new Set([...keys.values()].map((k) => rowKeyOf(k).toString('hex')));
  const rows = rowsOf(spec, await run(source, plan, basis, seeds));
  for (const hex of rows.keys()) if (!wanted.has(hex)) rows.delete(hex);
  return rows;
}

/** A row that changed at X: its key and its JSON text before and after (null = absent). */
export interface RowChange {
  key: Buffer;
  before: string | null;
  after: string | null;
}

/** The view's rows as last maintained (as of X-1): point lookups by key, or all of them. */
export interface CurrentRows {
  get(keys: Buffer[]): Promise<(string | null)[]>;
  all(): Promise<Map<string, string>>;
}

/** Compares new rows with the current ones for the keys given (all keys of both when `keys` is null). */
async function compare(next: Map<string, ViewRow>, current: CurrentRows, keys: Buffer[] | null): Promise<RowChange[]> {
  const out: RowChange[] = [];
  if (keys === null) {
    const old = await current.all();
    for (const [hex, json] of old) if (!next.has(hex)) out.push({ key: Buffer.from(hex, 'hex'), before: json, after: null });
    for (const [hex, row] of next) {
      const after = rowJson(row.cells);
      const before = old.get(hex) ?? null;
      if (before !== after) out.push({ key: row.key, before, after });
    }
    return out;
  }
  const stored = await current.get(keys);
  keys.forEach((key, i) => {
    const row = next.get(key.toString('hex'));
    const after = row === undefined ? null : rowJson(row.cells);
    if (stored[i] !== after) out.push({ key, before: stored[i] ?? null, after });
  });
  return out;
}

/** The full delta: every row as of X against every current row (definition, schema change, watched ids). */
export async function fullDelta(spec: ViewSpec, source: SliceSource, offset: number, current: CurrentRows): Promise<RowChange[]> {
  return compare(await allRows(spec, source, offset), current, null);
}

function needsFull(spec: ViewSpec, touched: TouchedSet): boolean {
  const a = spec.analysis;
  if (a.fallback !== null || touched.schemaChanged) return true;
  for (const id of a.watchIds) if (touched.ids.has(id)) return true;
  return touched.edges.some((e) => a.watchEdgeTypes.has(e.type));
}

/** The delta of a view defined before X for the committed tx X. */
export async function viewDelta(spec: ViewSpec, source: SliceSource, touched: TouchedSet, current: CurrentRows): Promise<RowChange[]> {
  if (touched.ids.size === 0 && !touched.schemaChanged) return [];
  if (needsFull(spec, touched)) return fullDelta(spec, source, touched.offset, current);
  const { before, after, changed } = await candidates(spec, touched, source);
  if (!changed) return [];
  // One group over everything: its aggregates need every solution (documented cost of global aggregates).
  if (spec.aggregate && spec.keyVars.length === 0) return fullDelta(spec, source, touched.offset, current);
  const toKey = (k: Value[]): Buffer => rowKeyOf(k);
  if (spec.aggregate) {
    const groups: Keys = new Map([...before, ...after]);
    const next = await rowsForKeys(spec, source, groups, touched.offset);
    return compare(next, current, [...groups.values()].map(toKey));
  }
  // A projected row found at X is in the view at X; one found only at X-1 may still have other support.
  const gone: Keys = new Map([...before].filter(([id]) => !after.has(id)));
  const next = await rowsForKeys(spec, source, gone, touched.offset);
  for (const values of after.values()) next.set(toKey(values).toString('hex'), { key: toKey(values), cells: values });
  return compare(next, current, [...after.values(), ...gone.values()].map(toKey));
}
