// Evaluation of the pattern clauses (type, attribute, edge) along the access path the planner chose:
// bound ids read entities, bound values read the value index, bound nodes read adjacency, bound types
// read the type index, and only unbound clauses scan.

import type { Value, WireValue } from '../../core/types.js';
import { coerceValue, valueIdentity } from '../../core/values.js';
import type { AttrClause, EdgeClause, Term, TypeClause } from './ast.js';
import type { CachedSlice } from './cached-slice.js';
import type { Step } from './plan.js';
import { idOf, idValue, Joiner, type Relation } from './relation.js';

/** A constant in a name position (id, type) is always a string. */
function nameConstant(t: Term): Value | null {
  return t.t === 'const' ? t.value : null;
}

/** The value a term has in a solution: its constant, or its column. Null when unbound. */
function termGetter(t: Term, rel: Relation, constant: Value | null): (row: Value[]) => Value | null {
  if (t.t === 'const') return () => constant;
  if (t.t === 'var') {
    const column = rel.vars.indexOf(t.name);
    if (column >= 0) return (row) => row[column]!;
  }
  return () => null;
}

/** Distinct string ids a term takes across the solutions. */
function idsOf(rel: Relation, get: (row: Value[]) => Value | null): string[] {
  const ids = new Set<string>();
  for (const row of rel.rows) {
    const v = get(row);
    const id = v === null ? null : idOf(v);
    if (id !== null) ids.add(id);
  }
  return [...ids];
}

/** The stored form of an attribute-value constant under the attribute's definition, as a `set` would store it. */
export function attrConstant(slice: CachedSlice, attr: string, w: WireValue): Value | null {
  return coerceValue(w, slice.schema.attrs.get(attr));
}

export async function evalType(step: Step, rel: Relation, slice: CachedSlice): Promise<Relation> {
  const c = step.clause as TypeClause;
  const j = new Joiner(rel, [c.id, c.type], [nameConstant(c.id), nameConstant(c.type)], slice.budget);
  if (j.impossible) return j.result();
  const kindOk = async (ids: string[]): Promise<(id: string) => boolean> => {
    if (c.entityKind === null) return () => true;
    await slice.loadEntities(ids);
    return (id) => slice.entityNow(id)?.kind === c.entityKind;
  };
  if (step.access === 'entity') {
    const getId = termGetter(c.id, rel, nameConstant(c.id));
    await slice.loadEntities(idsOf(rel, getId));
    for (const row of rel.rows) {
      const v = getId(row);
      const e = v === null || idOf(v) === null ? null : slice.entityNow(idOf(v)!);
      if (e !== null && (c.entityKind === null || e.kind === c.entityKind)) j.emit(row, [v!, idValue(e.type)]);
    }
    return j.result();
  }
  if (step.access === 'typeIndex') {
    const getType = termGetter(c.type, rel, nameConstant(c.type));
    const byType = new Map<string, string[]>();
    for (const type of idsOf(rel, getType)) byType.set(type, await slice.idsByType(type));
    const ok = await kindOk([...byType.values()].flat());
    for (const row of rel.rows) {
      const type = idOf(getType(row)!);
      for (const id of (type === null ? undefined : byType.get(type)) ?? []) if (ok(id)) j.emit(row, [idValue(id), idValue(type!)]);
    }
    return j.result();
  }
  const all = await slice.allEntities();
  const edges = c.entityKind === null ? null : new Set((await slice.allEdges()).map((e) => e.id));
  const matching = all.filter((e) => edges === null || edges.has(e.id) === (c.entityKind === 'edge'));
  for (const row of rel.rows) for (const e of matching) j.emit(row, [idValue(e.id), idValue(e.type)]);
  return j.result();
}

export async function evalAttr(step: Step, rel: Relation, slice: CachedSlice): Promise<Relation> {
  const c = step.clause as AttrClause;
  const valueConst = c.value.t === 'const' ? attrConstant(slice, c.attr, c.value.value) : null;
  const j = new Joiner(rel, [c.id, c.value], [nameConstant(c.id), valueConst], slice.budget);
  if (j.impossible) return j.result();
  if (step.access === 'entity') {
    const getId = termGetter(c.id, rel, nameConstant(c.id));
    await slice.loadEntities(idsOf(rel, getId));
    for (const row of rel.rows) {
      const v = getId(row);
      const e = v === null || idOf(v) === null ? null : slice.entityNow(idOf(v)!);
      for (const value of e?.attrs.get(c.attr) ?? []) j.emit(row, [v!, value]);
    }
    return j.result();
  }
  if (step.access === 'valueIndex') {
    const getValue = termGetter(c.value, rel, valueConst);
    const distinct = new Map<string, Value>();
    for (const row of rel.rows) {
      const v = getValue(row)!;
      distinct.set(valueIdentity(v), v);
    }
    const holders = new Map<string, string[]>();
    for (const [identity, v] of distinct) holders.set(identity, await slice.idsWithValue(c.attr, v));
    for (const row of rel.rows) {
      const v = getValue(row)!;
      for (const id of holders.get(valueIdentity(v)) ?? []) j.emit(row, [idValue(id), v]);
    }
    return j.result();
  }
  const ids = await slice.idsWithAttr(c.attr);
  await slice.loadEntities(ids);
  const pairs: [Value, Value][] = [];
  for (const id of ids) for (const value of slice.entityNow(id)?.attrs.get(c.attr) ?? []) pairs.push([idValue(id), value]);
  for (const row of rel.rows) for (const [id, value] of pairs) j.emit(row, [id, value]);
  return j.result();
}

export async function evalEdge(step: Step, rel: Relation, slice: CachedSlice): Promise<Relation> {
  const c = step.clause as EdgeClause;
  const j = new Joiner(rel, [c.edgeType, c.from, c.to, c.id], [nameConstant(c.edgeType), nameConstant(c.from), nameConstant(c.to), nameConstant(c.id)], slice.budget);
  if (j.impossible) return j.result();
  const emit = (row: Value[], e: { id: string; type: string; from?: string; to?: string }): void =>
    j.emit(row, [idValue(e.type), idValue(e.from!), idValue(e.to!), idValue(e.id)]);
  if (step.access === 'adjacencyOut' || step.access === 'adjacencyIn') {
    const side = step.access === 'adjacencyOut' ? 'out' : 'in';
    const getNode = termGetter(side === 'out' ? c.from : c.to, rel, nameConstant(side === 'out' ? c.from : c.to));
    await slice.loadAdjacency(idsOf(rel, getNode), [side]);
    for (const row of rel.rows) {
      const node = idOf(getNode(row)!);
      if (node !== null) for (const e of slice.adjacencyNow(node, side)) emit(row, e);
    }
    return j.result();
  }
  if (step.access === 'entity' || step.access === 'typeIndex') {
    const byEdge = step.access === 'entity';
    const get = termGetter(byEdge ? c.id : c.edgeType, rel, nameConstant(byEdge ? c.id : c.edgeType));
    const keys = idsOf(rel, get);
    const idsByKey = new Map<string, string[]>();
    for (const key of keys) idsByKey.set(key, byEdge ? [key] : await slice.idsByType(key));
    await slice.loadEntities([...idsByKey.values()].flat());
    for (const row of rel.rows) {
      const key = idOf(get(row)!);
      for (const id of (key === null ? undefined : idsByKey.get(key)) ?? []) {
        const e = slice.entityNow(id);
        if (e !== null && e.kind === 'edge') emit(row, e);
      }
    }
    return j.result();
  }
  const all = await slice.allEdges();
  for (const row of rel.rows) for (const e of all) emit(row, e);
  return j.result();
}
