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
 * Measured here: one iterator per node costs ~60 µs (pipelined), a scan ~4 µs per entry. Once the
 * per-node reads have cost what one scan of the whole out-adjacency index would (≈ live entities / 15
 * reads), the rest of the search reads it in one scan: never more than twice the better strategy.
 */
const SCAN_ENTRIES_PER_NODE_READ = 15;
const BULK_ADJACENCY_MIN = 64;
/** Used when the size of the graph is not known. */
const BULK_ADJACENCY_DEFAULT = 2048;

export type Side = 'out' | 'in';

export class CachedSlice {
  private readonly entities = new Map<string, EntityState | null>();
  private adjacencyBySide = { out: new Map<string, EdgeRef[]>(), in: new Map<string, EdgeRef[]>() };
  private bulkLoaded = false;
  private readonly lookups = new Map<string, Promise<unknown>>();
  private readonly pending = new Map<string, Promise<void>>();
  private perNodeReads = 0;
  private bulk: Promise<void> | null = null;
  private readonly bulkAfter: number;

  /** `liveEntities`: the graph's size, when known, to decide when one scan beats per-node reads. */
  constructor(readonly reads: SliceReads, readonly budget: Budget, liveEntities?: number) {
    this.bulkAfter = liveEntities === undefined ? BULK_ADJACENCY_DEFAULT : Math.max(BULK_ADJACENCY_MIN, Math.ceil(liveEntities / SCAN_ENTRIES_PER_NODE_READ));
  }

  get schema(): Schema {
    return this.reads.schema;
  }

  /**
   * Reads every key not read yet with bounded concurrency, checking the deadline between rounds. A key
   * already being read by a concurrent caller (parallel searches) is awaited, not read twice.
   */
  private async batched(keys: string[], read: (key: string) => Promise<void>): Promise<void> {
    const waits: Promise<void>[] = [];
    const fresh: string[] = [];
    for (const key of new Set(keys)) {
      const inFlight = this.pending.get(key);
      if (inFlight !== undefined) waits.push(inFlight);
      else fresh.push(key);
    }
    for (let i = 0; i < fresh.length; i += READ_CONCURRENCY) {
      await Promise.all(fresh.slice(i, i + READ_CONCURRENCY).map((key) => {
        const p = read(key).finally(() => this.pending.delete(key));
        this.pending.set(key, p);
        return p;
      }));
      this.budget.check();
    }
    await Promise.all(waits);
  }

  async loadEntities(ids: Iterable<string>): Promise<void> {
    const missing = [...ids].filter((id) => !this.entities.has(id));
    await this.batched(missing.map((id) => `e\u0000${id}`), async (key) => {
      const id = key.slice(2);
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
    if (this.bulk !== null) return this.bulk;
    const missing: string[] = [];
    for (const node of new Set(nodes)) for (const side of sides) if (!this.adjacencyBySide[side].has(node)) missing.push(`${side}\u0000${node}`);
    this.perNodeReads += missing.length;
    if (this.perNodeReads > this.bulkAfter) return this.loadAllAdjacency();
    await this.batched(missing, async (key) => {
      const split = key.indexOf('\u0000');
      const side = key.slice(0, split) as Side;
      const node = key.slice(split + 1);
      this.adjacencyBySide[side].set(node, await this.reads.adjacency(node, side));
    });
  }

  /** Reads the whole adjacency index in one scan; later adjacency reads are answered from memory. */
  loadAllAdjacency(): Promise<void> {
    this.bulk ??= this.allEdges().then((edges) => {
      const out = new Map<string, EdgeRef[]>();
      const inn = new Map<string, EdgeRef[]>();
      for (const e of edges) {
        push(out, e.from, e);
        push(inn, e.to, e);
      }
      this.adjacencyBySide.out = out;
      this.adjacencyBySide.in = inn;
      this.bulkLoaded = true;
    });
    return this.bulk;
  }

  /** Live edges of a loaded node on one side. */
  adjacencyNow(node: string, side: Side): EdgeRef[] {
    const edges = this.adjacencyBySide[side].get(node);
    if (edges !== undefined) return edges;
    if (this.bulkLoaded) return [];
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
