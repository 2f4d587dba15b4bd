// The read phase before a fold: everything a tx may look at is loaded here, asynchronously, so that
// the fold itself is synchronous and pure. Adjacency and unique-value scans unite RocksDB with what the
// staged txs added (StagedIndexes); the rare whole-attribute and whole-type scans first write the
// staged txs so RocksDB is current.

import type { TxInput, Value } from '../core/types.js';
import { valueIdentity } from '../core/values.js';
import * as K from '../store/keys.js';
import { decodeLifetime } from '../store/records.js';
import type { Store } from '../store/rocks.js';
import type { EntityCache } from './cache.js';
import type { StagedIndexes } from './staged.js';
import { isLive, type FoldInput, type Schema, type EntityState } from './state.js';

export interface StateLookups {
  store: Store;
  cache: EntityCache;
  committedKey(key: string): Promise<number | undefined>;
  /** Ids of the edges RocksDB holds as live for a node (a scan, shared by the txs of a batch). */
  storedLiveEdges(node: string): Promise<string[]>;
  flushPending(): Promise<void>;
  hasPending(): boolean;
  /** Index additions of the staged (not yet written) txs. */
  staged: StagedIndexes;
}

export interface UniqueProbe {
  attr: string;
  value: Value;
}

/** Parses the entity id and offset that end a key: str(id) desc64(offset). */
export function idAtKeyEnd(key: Buffer, start: number): { id: string; offset: number } {
  const end = key.indexOf(0, start);
  return { id: key.toString('utf8', start, end), offset: K.readDesc64(key, end + 1) };
}

/** Index just past an encoded value (tag, escaped body, 0x00 0x01) starting at `start`. */
export function skipValue(key: Buffer, start: number): number {
  let i = start + 1;
  for (;;) {
    if (key[i] === 0) {
      if (key[i + 1] === 1) return i + 2;
      i += 2; // escaped zero
    } else i++;
  }
}

/** Ids whose newest value-index entry under `prefix` is an assertion (one entry per value and id). */
async function assertedIds(store: Store, prefix: Buffer, valueInKey: boolean): Promise<Set<string>> {
  const seen = new Set<string>();
  const holders = new Set<string>();
  for (const { key, value } of await store.scanPrefix(prefix)) {
    const valueEnd = valueInKey ? skipValue(key, prefix.length) : prefix.length;
    const { id } = idAtKeyEnd(key, valueEnd);
    const slot = `${key.toString('latin1', prefix.length, valueEnd)}\u0000${id}`;
    if (seen.has(slot)) continue; // newest entry first (descending offsets)
    seen.add(slot);
    if (value[0] === 1) holders.add(id);
  }
  return holders;
}

/** Ids of the edges stored as live at either end of `node`; both scans run side by side. */
export async function liveEdgesOf(store: Store, node: string): Promise<string[]> {
  const prefixes = [K.outPrefix(node), K.inPrefix(node)];
  const scans = await Promise.all(prefixes.map((prefix) => store.scanPrefix(prefix)));
  const ids = new Set<string>();
  scans.forEach((entries, i) => {
    const prefix = prefixes[i]!;
    for (const { key, value } of entries) {
      if (decodeLifetime(value).terminatedAt === null) ids.add(key.toString('utf8', prefix.length, key.length - 1));
    }
  });
  return [...ids].sort();
}

async function liveTypeMembers(store: Store, type: string): Promise<string[]> {
  const prefix = K.typePrefix(type);
  const ids: string[] = [];
  for (const { key, value } of await store.scanPrefix(prefix)) {
    if (decodeLifetime(value).terminatedAt === null) ids.push(key.toString('utf8', prefix.length, key.length - 1));
  }
  return ids;
}

export class PrefetchedInput implements FoldInput {
  private readonly edges = new Map<string, string[]>();
  private readonly unique = new Map<string, string[]>();
  private readonly holders = new Map<string, string[]>();
  private readonly members = new Map<string, string[]>();
  private key: { key: string; offset: number | undefined } | null = null;

  constructor(readonly schema: Schema, private readonly lookups: StateLookups) {}

  async load(tx: TxInput, probes: UniqueProbe[]): Promise<void> {
    const { cache, store } = this.lookups;
    await cache.load(referencedIds(tx));
    const terminatedNodes = tx.ops.flatMap((op) => (op.op === 'terminate' && cache.peek(op.id)?.kind === 'node' ? [op.id] : []));
    const defineAttrs = tx.ops.flatMap((op) => (op.op === 'defineAttr' ? [op.attr] : []));
    const defineTypes = tx.ops.flatMap((op) => (op.op === 'defineType' ? [op.type] : []));
    const wholeScans = defineAttrs.length + defineTypes.length;
    if (wholeScans > 0 && this.lookups.hasPending()) await this.lookups.flushPending();
    const { staged } = this.lookups;
    const more: string[] = [];
    for (const node of terminatedNodes) {
      const ids = new Set([...(await this.lookups.storedLiveEdges(node)), ...staged.edgesOf(node)]);
      more.push(...this.remember(this.edges, node, [...ids].sort()));
    }
    for (const p of probes) {
      const identity = valueIdentity(p.value);
      const ids = await assertedIds(store, K.attrValuePrefix(p.attr, p.value), false);
      for (const id of staged.holdersOf(p.attr, identity)) ids.add(id);
      more.push(...this.remember(this.unique, `${p.attr}\u0000${identity}`, [...ids].sort()));
    }
    for (const attr of defineAttrs) more.push(...this.remember(this.holders, attr, [...(await assertedIds(store, K.attrPrefix(attr), true))].sort()));
    for (const type of defineTypes) more.push(...this.remember(this.members, type, await liveTypeMembers(store, type)));
    await cache.load(more);
    if (tx.id !== null) this.key = { key: tx.id, offset: await this.lookups.committedKey(tx.id) };
  }

  private remember(map: Map<string, string[]>, name: string, ids: string[]): string[] {
    map.set(name, ids);
    return ids;
  }

  entity(id: string): EntityState | undefined {
    const e = this.lookups.cache.peek(id);
    if (e === undefined) throw new Error(`fold read entity ${JSON.stringify(id)} that was not prefetched`);
    return e ?? undefined;
  }

  private need(map: Map<string, string[]>, name: string, what: string): string[] {
    const ids = map.get(name);
    if (!ids) throw new Error(`fold read ${what} ${JSON.stringify(name)} that was not prefetched`);
    return ids.filter((id) => isLive(this.entity(id)));
  }

  liveEdges(nodeId: string): string[] {
    return this.edges.get(nodeId) ?? []; // a node created in this tx has no earlier edges
  }
  uniqueHolders(attr: string, identity: string): string[] {
    return this.need(this.unique, `${attr}\u0000${identity}`, 'unique holders of');
  }
  attrHolders(attr: string): string[] {
    return this.need(this.holders, attr, 'holders of');
  }
  typeMembers(type: string): string[] {
    return this.need(this.members, type, 'members of');
  }
  committedOffsetOfKey(key: string): number | undefined {
    if (this.key?.key !== key) throw new Error('fold read an idempotency key that was not prefetched');
    return this.key.offset;
  }
}

export function referencedIds(tx: TxInput): string[] {
  const ids: string[] = [];
  for (const op of tx.ops) {
    if ('id' in op) ids.push(op.id);
    if (op.op === 'link') ids.push(op.from, op.to);
  }
  return ids;
}
