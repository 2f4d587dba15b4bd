// A bounded hot copy of the latest slice's entity states. Write-through: every committed change lands
// here first, and entries with unflushed writes are pinned, so a miss always means RocksDB is current.
// Bounded by entry count and by approximate bytes (store/sizes.ts), whichever is reached first.

import * as K from '../store/keys.js';
import { decodeVersion } from '../store/records.js';
import type { Store } from '../store/rocks.js';
import { entityBytes } from '../store/sizes.js';
import type { EntityState } from './state.js';

/** A cached state (null = the id was never used) and its size, estimated once when it is stored. */
interface Slot {
  e: EntityState | null;
  bytes: number;
}

/** The Map entry, the slot object and the key string of an id (its characters counted separately). */
const SLOT_BYTES = 96;
const slotBytes = (id: string, e: EntityState | null): number => SLOT_BYTES + id.length + (e === null ? 0 : entityBytes(e));

export class EntityCache {
  /** Map order is recency (oldest first). */
  private readonly entries = new Map<string, Slot>();
  private readonly dirty = new Set<string>();
  private bytes = 0;

  constructor(private readonly store: Store, private readonly capacity: number, private readonly bytesMax: number) {}

  /** undefined = not cached; null = cached as never used. */
  peek(id: string): EntityState | null | undefined {
    return this.entries.get(id)?.e;
  }

  put(e: EntityState): void {
    this.set(e.id, e);
    this.dirty.add(e.id);
  }

  private set(id: string, e: EntityState | null): void {
    const prior = this.entries.get(id);
    if (prior !== undefined) {
      this.bytes -= prior.bytes;
      this.entries.delete(id);
    }
    const slot = { e, bytes: slotBytes(id, e) };
    this.entries.set(id, slot);
    this.bytes += slot.bytes;
  }

  /** Loads the latest stored state of every id not cached yet, in one batched read. */
  async load(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.entries.has(id));
    const found = await this.store.getMany(missing.map(K.currentKey));
    missing.forEach((id, i) => {
      const buf = found[i];
      // A put that raced this read is newer than what the read found.
      if (!this.entries.has(id)) this.set(id, buf ? decodeVersion(id, buf).entity : null);
    });
  }

  markFlushed(): void {
    this.dirty.clear();
  }

  /** Drops the least recently written or loaded clean entries beyond the count and byte bounds. */
  evict(): void {
    if (this.entries.size <= this.capacity && this.bytes <= this.bytesMax) return;
    for (const [id, slot] of this.entries) {
      if (this.entries.size <= this.capacity && this.bytes <= this.bytesMax) break;
      if (this.dirty.has(id)) continue;
      this.entries.delete(id);
      this.bytes -= slot.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Entries and accounted bytes, for metrics and tests. */
  stats(): { entries: number; bytes: number; bytesMax: number } {
    return { entries: this.entries.size, bytes: this.bytes, bytesMax: this.bytesMax };
  }
}
