// Memoized, batched reads of one slice for the duration of one query: every entity, adjacency list and
// index lookup is read once, misses are read concurrently, and evaluation loops then run synchronously.

import type { Value } from '../../core/types.js';
import { valueIdentity } from '../../core/values.js';
import type { EntityState, Schema } from '../../materializer/state.js';
import type { EdgeRef, SliceReads, TypedId } from '../slice.js';
import type { Budget } from './budget.js';

/** Reads in flight at once: each is a hop to RocksDB's worker thread, which pipelines them. */
const READ_CONCURRENCY = 64;
/**
 * Per-node adjacency reads after which the whole adjacency index is read in one scan instead: a scan
 * streams entries far faster than one iterator per node, and past this many nodes it pays for itself.
 */
const BULK_ADJACENCY_AFTER = 2048;

export type Side = 'out' | 'in';

export class CachedSlice {
  private readonly entities = new Map<string, EntityState | null>();
  private readonly adjacencyBySide = { out: new Map<string, EdgeRef[]>(), in: new Map<string, EdgeRef[]>() };
  private readonly lookups = new Map<string, Promise<unknown>>();
  private perNodeReads = 0;
  private bulk = false;

  constructor(readonly reads: SliceReads, readonly budget: Budget) {}

  get schema(): Schema {
    return this.reads.schema;
  }

  /** Runs `read` over the keys with bounded concurrency, checking the deadline between rounds. */
  private async batched<K>(keys: K[], read: (key: K) => Promise<void>): Promise<void> {
    for (let i = 0; i < keys.length; i += READ_CONCURRENCY) {
      await Promise.all(keys.slice(i, i + READ_CONCURRENCY).map(read));
      this.budget.check();
    }
  }

  async loadEntities(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.entities.has(id));
    await this.batched(missing, async (id) => {
      this.entities.set(id, await this.reads.entity(id));
    });
  }

  /** The live state of a loaded entity (null when absent at the basis). */
  entityNow(id: string): EntityState | null {
    const e = this.entities.get(id);
    if (e === undefined) throw new Error(`query read entity ${JSON.stringify(id)} before loading it`);
    return e;
  }

  async loadAdjacency(nodes: Iterable<string>, sides: readonly Side[]): Promise<void> {
    if (this.bulk) return;
    const missing: [string, Side][] = [];
    for (const node of new Set(nodes)) for (const side of sides) if (!this.adjacencyBySide[side].has(node)) missing.push([node, side]);
    this.perNodeReads += missing.length;
    if (this.perNodeReads > BULK_ADJACENCY_AFTER) return this.loadAllAdjacency();
    await this.batched(missing, async ([node, side]) => {
      this.adjacencyBySide[side].set(node, await this.reads.adjacency(node, side));
    });
  }

  private async loadAllAdjacency(): Promise<void> {
    const edges = await this.allEdges();
    this.adjacencyBySide.out.clear();
    this.adjacencyBySide.in.clear();
    for (const e of edges) {
      push(this.adjacencyBySide.out, e.from, e);
      push(this.adjacencyBySide.in, e.to, e);
    }
    this.bulk = true;
  }

  /** Live edges of a loaded node on one side. */
  adjacencyNow(node: string, side: Side): EdgeRef[] {
    const edges = this.adjacencyBySide[side].get(node);
    if (edges !== undefined) return edges;
    if (this.bulk) return [];
    throw new Error(`query read the adjacency of ${JSON.stringify(node)} before loading it`);
  }

  private memo<T>(key: string, read: () => Promise<T>): Promise<T> {
    let found = this.lookups.get(key) as Promise<T> | undefined;
    if (found === undefined) {
      found = read().then((result) => {
        this.budget.check();
        return result;
      });
      this.lookups.set(key, found);
    }
    return found;
  }

  idsByType(type: string): Promise<string[]> {
    return this.memo(`y\u0000${type}`, () => this.reads.idsByType(type));
  }

  idsWithValue(attr: string, value: Value): Promise<string[]> {
    return this.memo(`v\u0000${attr}\u0000${valueIdentity(value)}`, () => this.reads.idsWithValue(attr, value));
  }

  idsWithAttr(attr: string): Promise<string[]> {
    return this.memo(`a\u0000${attr}`, () => this.reads.idsWithAttr(attr));
  }

  allEntities(): Promise<TypedId[]> {
    return this.memo('all-entities', () => this.reads.allEntities());
  }

  allEdges(): Promise<EdgeRef[]> {
    return this.memo('all-edges', () => this.reads.allEdges());
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
