// Past versions of entities, decoded, by (id, version offset). The read cache (read-cache.ts) keeps each
// entity's latest version; a read as of an older offset needs the version in force there, which costs
// a RocksDB get: a hop to the binding's worker thread that takes 20–100 µs of wall time (and ~10 µs of
// main-thread CPU) against ~3 µs for the whole read when it is in memory. A version written at an
// offset never changes (state is a deterministic fold of the log), so entries need no invalidation;
// memory is bounded by approximate bytes (store/sizes.ts), evicting with CLOCK like the read cache.

import type { StoredVersion } from '../store/records.js';
import { versionBytes } from '../store/sizes.js';

/** The entry object, its Map slot and its key string header (the key's characters counted apart). */
const ENTRY_BYTES = 96;
/** No single version may take more than this share of the budget. */
const ENTRY_SHARE_MAX = 8;

interface Entry {
  version: StoredVersion;
  bytes: number;
  /** Read since eviction last passed it: a second chance instead of reordering on every hit. */
  referenced: boolean;
}

export class VersionCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly bytesMax: number) {}

  /** Offsets are digits, so the first '/' ends one: the key is unambiguous whatever the id holds. */
  private static key(id: string, offset: number): string {
    return `${offset}/${id}`;
  }

  get(id: string, offset: number): StoredVersion | undefined {
    const hit = this.entries.get(VersionCache.key(id, offset));
    if (hit === undefined) return undefined;
    hit.referenced = true;
    return hit.version;
  }

  set(id: string, offset: number, version: StoredVersion): void {
    const key = VersionCache.key(id, offset);
    if (this.entries.has(key)) return;
    const bytes = ENTRY_BYTES + key.length + versionBytes(version);
    if (bytes > this.bytesMax / ENTRY_SHARE_MAX) return;
    this.entries.set(key, { version, bytes, referenced: false });
    this.bytes += bytes;
    if (this.bytes > this.bytesMax) this.evict();
  }

  /** Drops the oldest unreferenced entries until the bytes fit; referenced ones move young once. */
  private evict(): void {
    let passes = 2 * this.entries.size + 1; // the second pass meets no second chances
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.bytesMax || passes-- <= 0) break;
      this.entries.delete(key);
      if (entry.referenced) {
        entry.referenced = false;
        this.entries.set(key, entry);
      } else this.bytes -= entry.bytes;
    }
  }

  /** Entries and accounted bytes, for metrics and tests. */
  stats(): { entries: number; bytes: number; bytesMax: number } {
    return { entries: this.entries.size, bytes: this.bytes, bytesMax: this.bytesMax };
  }
}
