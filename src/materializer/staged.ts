// What the txs staged since the last write batch added to the two indexes a fold scans most: the
// adjacency of nodes (terminating a node ends its edges) and the holders of unique values. A scan of
// RocksDB sees only written state; its result united with these sets is a superset of the live answer,
// and the fold keeps only candidates whose current state (in the entity cache) qualifies. Without this,
// every termination or unique value had to write the batch first: ~1 write batch per 20 txs instead of
// one per log batch.

import { valueIdentity } from '../core/values.js';
import type { Schema, EntityState } from './state.js';

export class StagedIndexes {
  /** node → edges created at it (either end) since the last write. */
  private readonly edges = new Map<string, Set<string>>();
  /** `${attr}\0${identity}` → entities that held that unique value after some staged tx. */
  private readonly holders = new Map<string, Set<string>>();

  /** Records the entity states a committed tx produced, under the schema in force after it. */
  add(entities: readonly EntityState[], schema: Schema): void {
    for (const e of entities) {
      if (e.kind === 'edge') {
        add(this.edges, e.from!, e.id);
        add(this.edges, e.to!, e.id);
      }
      for (const [attr, values] of e.attrs) {
        if (schema.attrs.get(attr)?.unique !== true) continue;
        for (const v of values) add(this.holders, `${attr}\u0000${valueIdentity(v)}`, e.id);
      }
    }
  }

  edgesOf(node: string): Iterable<string> {
    return this.edges.get(node) ?? [];
  }

  holdersOf(attr: string, identity: string): Iterable<string> {
    return this.holders.get(`${attr}\u0000${identity}`) ?? [];
  }

  /** The staged txs were written: RocksDB scans see them now. */
  clear(): void {
    this.edges.clear();
    this.holders.clear();
  }
}

function add(map: Map<string, Set<string>>, key: string, id: string): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(id);
}
