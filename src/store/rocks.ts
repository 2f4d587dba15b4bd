// A thin RocksDB wrapper for one graph's state: batched point reads, bounded prefix scans and atomic
// write batches. Everything above it speaks keys from keys.ts and never touches the binding directly.

import { mkdir } from 'node:fs/promises';
import RocksDB from 'rocksdb-native';
import { prefixEnd } from './keys.js';

export interface ScanOptions {
  reverse?: boolean;
  limit?: number;
  /** Skip reading values (their Buffer is empty). */
  keysOnly?: boolean;
}

export interface KeyValue {
  key: Buffer;
  value: Buffer;
}

/**
 * Bytes of one memtable (RocksDB keeps up to two): the binding's default of 64 MiB would put 128 MiB of
 * a graph's memory in memtables; the state is derived from the log, so larger memtables buy nothing
 * for durability, only fewer flushes.
 */
const WRITE_BUFFER_BYTES = 32 * 1024 * 1024;

/*
 * `optimizeFiltersForHits`: no Bloom filters on the last level. Filters are pinned in memory and grow with
 * the data (~10 bits per key: ~45 MB at 10M facts, most of it in the last level); only a lookup of a key
 * that does not exist pays for their absence, with one index lookup in that level.
 */

/** Iterator capacity for scans: the binding's default of 8 halves scan throughput. */
const SCAN_CAPACITY = 256;

export class Store {
  private constructor(private readonly db: RocksDB, readonly path: string) {}

  static async open(path: string): Promise<Store> {
    await mkdir(path, { recursive: true });
    const db = new RocksDB(path, { createIfMissing: true, writeBufferSize: WRITE_BUFFER_BYTES, optimizeFiltersForHits: true });
    await db.ready();
    return new Store(db, path);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async get(key: Buffer): Promise<Buffer | null> {
    return this.db.get(key);
  }

  /** One binding call for many keys: a hop to the worker thread is the cost that dominates. */
  async getMany(keys: Buffer[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return [];
    const batch = this.db.read({ capacity: keys.length, autoDestroy: true });
    const pending = keys.map((k) => batch.get(k));
    batch.tryFlush();
    return Promise.all(pending);
  }

  /** Entries with gte ≤ key < lt, bounded by `limit`. */
  async range(gte: Buffer, lt: Buffer, options: ScanOptions = {}): Promise<KeyValue[]> {
    const limit = options.limit ?? Infinity;
    const out: KeyValue[] = [];
    if (limit <= 0) return out;
    const capacity = Math.max(1, Math.min(SCAN_CAPACITY, limit));
    const values = !options.keysOnly;
    for await (const kv of this.db.iterator({ gte, lt }, { reverse: options.reverse ?? false, limit, capacity, values })) {
      out.push(kv);
      if (out.length >= limit) break;
    }
    return out;
  }

  async scanPrefix(prefix: Buffer, options: ScanOptions = {}): Promise<KeyValue[]> {
    return this.range(prefix, prefixEnd(prefix), options);
  }

  /** The first entry at or after `gte` still inside `prefix`: "latest version at or before T" is this. */
  async first(gte: Buffer, prefix: Buffer): Promise<KeyValue | null> {
    const found = await this.range(gte, prefixEnd(prefix), { limit: 1 });
    return found[0] ?? null;
  }

  /** Applies puts atomically: index writes, tx records and the materialized offset land together. */
  async write(puts: KeyValue[]): Promise<void> {
    if (puts.length === 0) return;
    const batch = this.db.write({ capacity: puts.length, autoDestroy: true });
    for (const { key, value } of puts) batch.tryPut(key, value);
    await batch.flush();
  }

  /**
   * RocksDB's background work: compactions running now and the bytes it estimates compaction still has
   * to rewrite. After a bulk load both stay up for a while, and compaction threads share the cores.
   */
  async compactionState(): Promise<{ running: number; pendingBytes: number }> {
    const [running, pending] = await Promise.all([this.db.getProperty('rocksdb.num-running-compactions'), this.db.getProperty('rocksdb.estimate-pending-compaction-bytes')]);
    return { running: Number(running) || 0, pendingBytes: Number(pending) || 0 };
  }

  async approximateSize(): Promise<number> {
    return this.db.approximateSize(Buffer.from([0]), Buffer.from([0xff]));
  }

  /** Writes the memtables to SST files (a backup is complete on disk without its WAL). */
  async flush(): Promise<void> {
    await this.db.flush();
  }

  /**
   * A consistent read view as of now (a RocksDB snapshot): every read through it sees the writes
   * completed before this call and none after. Close it: an open snapshot keeps old versions alive.
   */
  snapshot(): StoreSnapshot {
    return new StoreSnapshot(this.db.snapshot());
  }
}

/** Reads through one RocksDB snapshot (`Store.snapshot`). */
export class StoreSnapshot {
  constructor(private readonly session: RocksDB) {}

  async get(key: Buffer): Promise<Buffer | null> {
    return this.session.get(key);
  }

  /** Up to `limit` entries after `after` (exclusive; null = from the first key), in key order. */
  async page(after: Buffer | null, limit: number): Promise<KeyValue[]> {
    const out: KeyValue[] = [];
    const capacity = Math.max(1, Math.min(SCAN_CAPACITY * 4, limit));
    for await (const kv of this.session.iterator(after === null ? {} : { gt: after }, { limit, capacity })) {
      out.push(kv);
      if (out.length >= limit) break;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
