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
 * Measured here (bench/reachability.ts): a scan of the whole out-adjacency index costs ~8 µs per entry
 * with decoding, and it holds at most one entry per live entity. Per-node reads cost ~70 µs each when
 * they open an iterator, a few µs when the reader's cache holds the node. So the choice is made on
 * measured time (ski rental): once per-node reads have taken as long as one scan would, the rest of
 * the search reads the index in one scan — never much more than twice the better strategy, and a
 * warm cache or a small depth-bounded search never pays for a scan.
 */
const SCAN_MS_PER_ENTITY = 0.008;

export type Side = 'out' | 'in';

export class CachedSlice {
  private readonly entities = new Map<string, EntityState | null>();
  private adjacencyBySide = { out: new Map<string, EdgeRef[]>(), in: new Map<string, EdgeRef[]>() };
  private bulkLoaded = false;
  private readonly lookups = new Map<string, Promise<unknown>>();
  private readonly pending = new Map<string, Promise<void>>();
  private perNodeReadMs = 0;
  private bulk: Promise<void> | null = null;
  /** Estimated time of one scan of the adjacency index; unknown graph size: never switch. */
  private readonly scanEstimateMs: number;

  /** `liveEntities`: the graph's size, when known, to decide when one scan beats per-node reads. */
  constructor(readonly reads: SliceReads, readonly budget: Budget, liveEntities?: number) {
    this.scanEstimateMs = liveEntities === undefined ? Infinity : liveEntities * SCAN_MS_PER_ENTITY;
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
    if (missing.length === 0) return;
    if (this.perNodeReadMs > this.scanEstimateMs) return this.loadAllAdjacency();
    const started = this.budget.now();
    await this.batched(missing, async (key) => {
      const split = key.indexOf('\u0000');
      const side = key.slice(0, split) as Side;
      const node = key.slice(split + 1);
      this.adjacencyBySide[side].set(node, await this.reads.adjacency(node, side));
    });
    this.perNodeReadMs += this.budget.now() - started;
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
