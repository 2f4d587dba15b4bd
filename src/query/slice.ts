// Read access to one slice (a graph as of a basis) shaped for query evaluation: live entities, ids by
// type / value / attribute, adjacency per node and in bulk. StoreSlice reads RocksDB through the key
// layout; speculative evaluation wraps it in an overlay (query/lang/speculative.ts).

import type { Value } from '../core/types.js';
import type { EntityState, Schema } from '../materializer/state.js';
import { idAtKeyEnd, skipValue } from '../materializer/prefetch.js';
import * as K from '../store/keys.js';
import { decodeLifetime, liveAt } from '../store/records.js';
import type { GraphReader } from './reader.js';

/** A live edge as the adjacency index holds it. */
export interface EdgeRef {
  id: string;
  type: string;
  from: string;
  to: string;
}

export interface TypedId {
  id: string;
  type: string;
}

/** Every read a query makes of a slice. Results describe live entities only; order is unspecified. */
export interface SliceReads {
  readonly basis: number;
  readonly schema: Schema;
  /** The live state of an entity, or null when it is absent (never created, or terminated) at the basis. */
  entity(id: string): Promise<EntityState | null>;
  idsByType(type: string): Promise<string[]>;
  idsWithValue(attr: string, value: Value): Promise<string[]>;
  /** Live entities holding any value of `attr`. */
  idsWithAttr(attr: string): Promise<string[]>;
  /** Live edges leaving (`out`) or entering (`in`) a node. */
  adjacency(node: string, direction: 'out' | 'in'): Promise<EdgeRef[]>;
  /** Every live entity with its type (one scan of the type index). */
  allEntities(): Promise<TypedId[]>;
  /** Every live edge (one scan of the out-adjacency index). */
  allEdges(): Promise<EdgeRef[]>;
}

/** The one-byte prefix of a key family (keys.ts): a whole family is one bounded scan. */
function family(tag: string): Buffer {
  return Buffer.from(tag, 'latin1');
}

export class StoreSlice implements SliceReads {
  constructor(private readonly reader: GraphReader, readonly basis: number, readonly schema: Schema) {}

  async entity(id: string): Promise<EntityState | null> {
    const e = await this.reader.storedAt(id, this.basis);
    return e !== null && (e.terminatedAt === null || e.terminatedAt > this.basis) ? e : null;
  }

  async idsByType(type: string): Promise<string[]> {
    return (await this.reader.idsByType(type, undefined, Infinity, this.basis)).ids;
  }

  async idsWithValue(attr: string, value: Value): Promise<string[]> {
    return this.reader.idsWithValue(attr, value, this.basis);
  }

  async idsWithAttr(attr: string): Promise<string[]> {
    const prefix = K.attrPrefix(attr);
    const decided = new Set<string>();
    const ids = new Set<string>();
    for (const { key, value } of await this.reader.store.scanPrefix(prefix)) {
      const valueEnd = skipValue(key, prefix.length);
      const { id, offset } = idAtKeyEnd(key, valueEnd);
      if (offset > this.basis) continue;
      // Entries of one (value, id) slot sort newest first: the first one at or before the basis decides.
      const slot = `${key.toString('latin1', prefix.length, valueEnd)}\u0000${id}`;
      if (decided.has(slot)) continue;
      decided.add(slot);
      if (value[0] === 1) ids.add(id);
    }
    return [...ids];
  }

  async adjacency(node: string, direction: 'out' | 'in'): Promise<EdgeRef[]> {
    // Through the reader: its read cache answers repeated adjacency reads without an iterator.
    const edges = await this.reader.adjacencyAt(node, direction, this.basis);
    return edges.map((l) => (direction === 'out' ? { id: l.id, type: l.type, from: node, to: l.peer } : { id: l.id, type: l.type, from: l.peer, to: node }));
  }

  async allEntities(): Promise<TypedId[]> {
    const out: TypedId[] = [];
    for (const { key, value } of await this.reader.store.scanPrefix(K.TYPE_FAMILY)) {
      if (!liveAt(decodeLifetime(value), this.basis)) continue;
      const typeEnd = key.indexOf(0, 1);
      out.push({ type: key.toString('utf8', 1, typeEnd), id: key.toString('utf8', typeEnd + 1, key.length - 1) });
    }
    return out;
  }

  async allEdges(): Promise<EdgeRef[]> {
    const out: EdgeRef[] = [];
    for (const { key, value } of await this.reader.store.scanPrefix(family('o'))) {
      const life = decodeLifetime(value);
      if (!liveAt(life, this.basis)) continue;
      const fromEnd = key.indexOf(0, 1);
      out.push({ from: key.toString('utf8', 1, fromEnd), id: key.toString('utf8', fromEnd + 1, key.length - 1), type: life.type, to: life.peer! });
    }
    return out;
  }
}
