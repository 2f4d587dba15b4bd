// A bounded hot copy of the latest slice's entity states. Write-through: every committed change lands
// here first, and entries with unflushed writes are pinned, so a miss always means RocksDB is current.

import * as K from '../store/keys.js';
import { decodeVersion } from '../store/records.js';
import type { Store } from '../store/rocks.js';
import type { EntityState } from './state.js';

export class EntityCache {
  /** id → state, or null when the id was never used. Map order is recency (oldest first). */
  private readonly entries = new Map<string, EntityState | null>();
  private readonly dirty = new Set<string>();

  constructor(private readonly store: Store, private readonly capacity: number) {}

  /** undefined = not cached; null = cached as never used. */
  peek(id: string): EntityState | null | undefined {
    return this.entries.get(id);
  }

  put(e: EntityState): void {
    this.entries.delete(e.id);
    this.entries.set(e.id, e);
    this.dirty.add(e.id);
  }

  /** Loads the latest stored state of every id not cached yet, in one batched read. */
  async load(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.entries.has(id));
    const found = await this.store.getMany(missing.map(K.currentKey));
    missing.forEach((id, i) => {
      const buf = found[i];
      this.entries.set(id, buf ? decodeVersion(id, buf).entity : null);
    });
  }

  markFlushed(): void {
    this.dirty.clear();
  }

  /** Drops the least recently written or loaded clean entries beyond capacity. */
  evict(): void {
    if (this.entries.size <= this.capacity) return;
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      if (!this.dirty.has(id)) this.entries.delete(id);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
