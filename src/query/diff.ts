// Diffs between two slices: the net of the committed changes in the span's tx reports (O(Δ), never a
// rebuild), reordered to stay applicable; a backward diff inverts the forward one using slice `to`.

import { netChanges } from '../core/changes.js';
import type { DiffFilter } from '../core/strata-api.js';
import type { Change } from '../core/types.js';
import type { StoredEntity } from '../store/records.js';
import type { Schema } from '../materializer/state.js';
import type { EntityIdentity, GraphReader } from './reader.js';

export class DiffTooLargeError extends RangeError {}

type EntityChange = Exclude<Change, { kind: 'schema' }>;

function groupByEntity(changes: Change[]): { schema: Change[]; groups: Map<string, EntityChange[]> } {
  const schema: Change[] = [];
  const groups = new Map<string, EntityChange[]>();
  for (const c of changes) {
    if (c.kind === 'schema') schema.push(c);
    else groups.set(c.id, [...(groups.get(c.id) ?? []), c]);
  }
  return { schema, groups };
}

/** Entity states needed to order and filter a diff: one lookup per entity, as of `basis`. */
async function statesOf(reader: GraphReader, ids: string[], basis: number): Promise<Map<string, StoredEntity | null>> {
  const states = await Promise.all(ids.map((id) => reader.storedAt(id, basis)));
  return new Map(ids.map((id, i) => [id, states[i]]));
}

/**
 * Forward net changes of (lo, hi]: schema first, then terminations of edges, then of nodes (so a
 * node's termination never precedes its edges'), then everything else in first-appearance order.
 */
async function forward(ctx: DiffContext, lo: number, hi: number, needTypes: boolean): Promise<{ schema: Change[]; groups: Map<string, EntityChange[]>; kinds: Map<string, EntityIdentity | null> }> {
  const { reader, maxChanges } = ctx;
  const raw: Change[] = [];
  for (const report of await reader.reports(lo + 1, hi)) {
    if (report.status === 'committed') raw.push(...report.changes);
    if (raw.length > maxChanges) throw new DiffTooLargeError(`the span (${lo}, ${hi}] has more than ${maxChanges} changes`);
  }
  const before = ctx.schemaAt(lo);
  const { schema, groups } = groupByEntity(netChanges(raw, { attr: (n) => before.attrs.get(n), type: (n) => before.types.get(n), view: (n) => before.views.get(n) }));
  // Kind and type never change, so any version tells them: no read of each entity as of `hi`. They are
  // needed to order a lone termination (edges before nodes) and, with a type filter, to filter; an
  // entity created in the span names both itself. Looking up every changed entity made a diff over a
  // fixed span cost more as the graph outgrew the read cache (3.8x from 100k to 1M facts).
  const kinds = new Map<string, EntityIdentity | null>();
  const unknown: string[] = [];
  for (const [id, cs] of groups) {
    const created = cs.find((c) => c.kind === 'created');
    if (created?.kind === 'created') kinds.set(id, { kind: created.entity, type: created.type });
    else if (needTypes || (cs.length === 1 && cs[0]!.kind === 'terminated')) unknown.push(id);
  }
  for (const [id, identity] of await reader.identities(unknown)) kinds.set(id, identity);
  const terminations = (kind: 'node' | 'edge') =>
    [...groups].filter(([id, cs]) => cs.length === 1 && cs[0].kind === 'terminated' && kinds.get(id)?.kind === kind);
  const ordered = new Map([...terminations('edge'), ...terminations('node')]);
  for (const [id, cs] of groups) if (!ordered.has(id)) ordered.set(id, cs);
  return { schema, groups: ordered, kinds };
}

function invertValueChange(c: EntityChange): EntityChange {
  switch (c.kind) {
    case 'set':
      return { ...c, old: c.new, new: c.old };
    case 'added':
      return { ...c, kind: 'retracted' };
    case 'retracted':
      return { ...c, kind: 'added' };
    default:
      throw new Error(`not a value change: ${c.kind}`);
  }
}

/** The changes that recreate an entity as it was: created, then each value. */
function recreate(e: StoredEntity, manyAttrs: Set<string>): EntityChange[] {
  const out: EntityChange[] = [
    e.kind === 'node'
      ? { kind: 'created', id: e.id, type: e.type, entity: 'node' }
      : { kind: 'created', id: e.id, type: e.type, entity: 'edge', from: e.from!, to: e.to! },
  ];
  for (const [attr, values] of [...e.attrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (manyAttrs.has(attr)) for (const value of values) out.push({ kind: 'added', id: e.id, attr, value });
    else out.push({ kind: 'set', id: e.id, attr, old: null, new: values[0] });
  }
  return out;
}

async function inverse(reader: GraphReader, schemaAtLo: Change[], fwd: Awaited<ReturnType<typeof forward>>, lo: number, many: Set<string>): Promise<Change[]> {
  const out: Change[] = [...schemaAtLo];
  const entries = [...fwd.groups].reverse();
  const resurrected = entries.filter(([, cs]) => cs[0].kind === 'terminated').map(([id]) => id);
  const before = await statesOf(reader, resurrected, lo);
  for (const [id, cs] of entries) {
    if (cs[0].kind === 'created') out.push({ kind: 'terminated', id });
    else if (cs[0].kind === 'terminated') out.push(...recreate(before.get(id)!, many));
    else out.push(...[...cs].reverse().map(invertValueChange));
  }
  return out;
}

export interface DiffContext {
  reader: GraphReader;
  /** Cardinality-many attributes and definitions as of an offset. */
  schemaAt(basis: number): Schema;
  maxChanges: number;
}

function schemaInverse(ctx: DiffContext, schema: Change[], lo: number): Change[] {
  const at = ctx.schemaAt(lo);
  return schema.map((c) => {
    if (c.kind !== 'schema') return c;
    if ('attr' in c) return { kind: 'schema', attr: c.attr, definition: at.attrs.get(c.attr) ?? null };
    if ('type' in c) return { kind: 'schema', type: c.type, definition: at.types.get(c.type) ?? null };
    return { kind: 'schema', view: c.view, definition: at.views.get(c.view) ?? null };
  });
}

function matches(c: Change, filter: DiffFilter, types: Map<string, EntityIdentity | null>): boolean {
  if (filter.id === undefined && filter.type === undefined) return true;
  if (c.kind === 'schema') return false;
  if (filter.id !== undefined && c.id !== filter.id) return false;
  if (filter.type !== undefined) {
    const type = c.kind === 'created' ? c.type : types.get(c.id)?.type;
    if (type !== filter.type) return false;
  }
  return true;
}

export async function diff(ctx: DiffContext, from: number, to: number, filter: DiffFilter): Promise<Change[]> {
  if (from === to) return [];
  const lo = Math.min(from, to);
  const hi = Math.max(from, to);
  const fwd = await forward(ctx, lo, hi, filter.type !== undefined);
  let changes: Change[];
  if (from < to) {
    changes = [...fwd.schema, ...[...fwd.groups.values()].flat()];
  } else {
    const many = new Set([...ctx.schemaAt(lo).attrs].filter(([, d]) => d.cardinality === 'many').map(([a]) => a));
    changes = await inverse(ctx.reader, schemaInverse(ctx, fwd.schema, lo), fwd, lo, many);
  }
  return changes.filter((c) => matches(c, filter, fwd.kinds));
}
