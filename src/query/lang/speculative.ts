// Speculative slices (`with`): the fold runs in memory over the slice AT THE BASIS (not the latest one),
// and queries read that slice through an overlay of the entity states the ops produced. Nothing is
// logged or written; the fold is the same pure function the materializer runs, so outcomes agree.

import { StrataError } from '../../core/errors.js';
import type { Op, TxInput, Value } from '../../core/types.js';
import { coerceValue, valueIdentity } from '../../core/values.js';
import { foldTx } from '../../materializer/fold.js';
import { isLive, type EntityState, type FoldInput, type Schema } from '../../materializer/state.js';
import type { GraphReader } from '../reader.js';
import type { EdgeRef, SliceReads, TypedId } from '../slice.js';

/** Everything the fold may read, loaded from the slice at the basis before it runs (it never awaits). */
class BasisFoldInput implements FoldInput {
  readonly entities = new Map<string, EntityState | null>();
  readonly edges = new Map<string, string[]>();
  private readonly lists = new Map<string, string[]>();

  constructor(readonly schema: Schema, private readonly reader: GraphReader, private readonly base: SliceReads) {}

  private async loadIds(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.entities.has(id));
    const found = await Promise.all(missing.map((id) => this.reader.storedAt(id, this.base.basis)));
    missing.forEach((id, i) => this.entities.set(id, found[i] ?? null));
  }

  private async remember(key: string, ids: Promise<string[]>): Promise<void> {
    const list = [...(await ids)].sort();
    this.lists.set(key, list);
    await this.loadIds(list);
  }

  /** Mirrors the materializer's prefetch: named entities, a terminated node's edges, unique holders, redefinitions. */
  async load(ops: Op[]): Promise<void> {
    await this.loadIds(ops.flatMap((op) => ('id' in op ? [op.id] : []).concat(op.op === 'link' ? [op.from, op.to] : [])));
    for (const op of ops) {
      if (op.op === 'terminate' && this.entities.get(op.id)?.kind === 'node') {
        const edges = [...(await this.base.adjacency(op.id, 'out')), ...(await this.base.adjacency(op.id, 'in'))].map((e) => e.id);
        this.edges.set(op.id, [...new Set(edges)].sort());
        await this.loadIds(edges);
      }
      if (op.op === 'defineAttr') await this.remember(`a\u0000${op.attr}`, this.base.idsWithAttr(op.attr));
      if (op.op === 'defineType') await this.remember(`y\u0000${op.type}`, this.base.idsByType(op.type));
    }
    for (const probe of uniqueProbes(ops, this.schema)) {
      await this.remember(`u\u0000${probe.attr}\u0000${valueIdentity(probe.value)}`, this.base.idsWithValue(probe.attr, probe.value));
    }
  }

  entity(id: string): EntityState | undefined {
    const e = this.entities.get(id);
    if (e === undefined) throw new Error(`speculative fold read entity ${JSON.stringify(id)} that was not loaded`);
    return e ?? undefined;
  }

  private live(key: string): string[] {
    const ids = this.lists.get(key);
    if (ids === undefined) throw new Error(`speculative fold read ${JSON.stringify(key)} that was not loaded`);
    return ids.filter((id) => isLive(this.entity(id)));
  }

  liveEdges(nodeId: string): string[] {
    return this.edges.get(nodeId) ?? []; // a node created by these ops has no earlier edges
  }
  uniqueHolders(attr: string, identity: string): string[] {
    return this.live(`u\u0000${attr}\u0000${identity}`);
  }
  attrHolders(attr: string): string[] {
    return this.live(`a\u0000${attr}`);
  }
  typeMembers(type: string): string[] {
    return this.live(`y\u0000${type}`);
  }
  committedOffsetOfKey(): number | undefined {
    return undefined; // speculative ops carry no idempotency key
  }
}

/** Values of unique attributes that set/add ops write, under the definitions in force at each op. */
function uniqueProbes(ops: Op[], schema: Schema): { attr: string; value: Value }[] {
  const defs = new Map(schema.attrs);
  const probes: { attr: string; value: Value }[] = [];
  for (const op of ops) {
    if (op.op === 'defineAttr') defs.set(op.attr, { valueType: op.valueType, cardinality: op.cardinality, unique: op.unique });
    if ((op.op === 'set' || op.op === 'add') && defs.get(op.attr)?.unique) {
      const v = coerceValue(op.value, defs.get(op.attr));
      if (v) probes.push({ attr: op.attr, value: v });
    }
  }
  return probes;
}

/** The base slice with the speculative states laid over it: overlaid ids answer from the overlay only. */
export class OverlaySlice implements SliceReads {
  private readonly newEdges: EdgeRef[];

  constructor(private readonly base: SliceReads, private readonly overlay: Map<string, EntityState>, readonly schema: Schema, private readonly offset: number) {
    this.newEdges = [...overlay.values()]
      .filter((e) => e.kind === 'edge' && e.createdAt === offset && e.terminatedAt === null)
      .map((e) => ({ id: e.id, type: e.type, from: e.from!, to: e.to! }));
  }

  get basis(): number {
    return this.base.basis;
  }

  private merge(baseIds: string[], test: (e: EntityState) => boolean): string[] {
    const kept = baseIds.filter((id) => !this.overlay.has(id));
    for (const e of this.overlay.values()) if (e.terminatedAt === null && test(e)) kept.push(e.id);
    return kept;
  }

  private keepEdge = (e: EdgeRef): boolean => {
    const o = this.overlay.get(e.id);
    return o === undefined || o.terminatedAt === null;
  };

  async entity(id: string): Promise<EntityState | null> {
    const o = this.overlay.get(id);
    if (o !== undefined) return o.terminatedAt === null ? o : null;
    return this.base.entity(id);
  }
  async idsByType(type: string): Promise<string[]> {
    return this.merge(await this.base.idsByType(type), (e) => e.type === type);
  }
  async idsWithValue(attr: string, value: Value): Promise<string[]> {
    const identity = valueIdentity(value);
    return this.merge(await this.base.idsWithValue(attr, value), (e) => (e.attrs.get(attr) ?? []).some((v) => valueIdentity(v) === identity));
  }
  async idsWithAttr(attr: string): Promise<string[]> {
    return this.merge(await this.base.idsWithAttr(attr), (e) => e.attrs.has(attr));
  }
  async adjacency(node: string, side: 'out' | 'in'): Promise<EdgeRef[]> {
    const fresh = this.newEdges.filter((e) => (side === 'out' ? e.from : e.to) === node);
    return [...(await this.base.adjacency(node, side)).filter(this.keepEdge), ...fresh];
  }
  async allEntities(): Promise<TypedId[]> {
    const all = (await this.base.allEntities()).filter((e) => !this.overlay.has(e.id));
    for (const e of this.overlay.values()) if (e.terminatedAt === null) all.push({ id: e.id, type: e.type });
    return all;
  }
  async allEdges(): Promise<EdgeRef[]> {
    return [...(await this.base.allEdges()).filter(this.keepEdge), ...this.newEdges];
  }
}

/**
 * Folds `ops` over the slice at the base's basis and returns that slice as the ops would leave it.
 * Ops that abort answer 409 tx_aborted with the abort code, as a publish would.
 */
export async function speculativeSlice(reader: GraphReader, base: SliceReads, ops: Op[]): Promise<SliceReads> {
  const input = new BasisFoldInput(base.schema, reader, base);
  await input.load(ops);
  const offset = base.basis + 1;
  const tx: TxInput = { id: null, meta: {}, ops };
  const result = foldTx(input, tx, offset);
  if (result.status === 'aborted') {
    const e = result.error!;
    throw new StrataError('tx_aborted', `the speculative ops would abort: ${e.code} at op ${e.op}: ${e.message}`, { abort: e.code, op: e.op, reason: e.message });
  }
  const overlay = new Map(result.entities.map((e) => [e.id, e]));
  return new OverlaySlice(base, overlay, result.schema ?? base.schema, offset);
}
