// The subset of rocksdb-native 3.18.1 that Strata uses (the package ships no types).
declare module 'rocksdb-native' {
  interface Range {
    gt?: Buffer;
    gte?: Buffer;
    lt?: Buffer;
    lte?: Buffer;
  }
  interface IteratorOptions {
    reverse?: boolean;
    limit?: number;
    capacity?: number;
    values?: boolean;
  }
  interface ReadBatch {
    get(key: Buffer): Promise<Buffer | null>;
    flush(): Promise<void>;
    tryFlush(): void;
    destroy(): void;
  }
  interface WriteBatch {
    tryPut(key: Buffer, value: Buffer): void;
    tryDelete(key: Buffer): void;
    tryDeleteRange(start: Buffer, end: Buffer): void;
    flush(): Promise<void>;
    destroy(): void;
  }
  class RocksDB {
    constructor(path: string, options?: { createIfMissing?: boolean; maxOpenFiles?: number; writeBufferSize?: number; optimizeFiltersForHits?: boolean });
    ready(): Promise<void>;
    close(): Promise<void>;
    read(options?: { capacity?: number; autoDestroy?: boolean }): ReadBatch;
    write(options?: { capacity?: number; autoDestroy?: boolean }): WriteBatch;
    iterator(range: Range, options?: IteratorOptions): AsyncIterable<{ key: Buffer; value: Buffer }>;
    get(key: Buffer): Promise<Buffer | null>;
    snapshot(): RocksDB;
    flush(): Promise<void>;
    approximateSize(start: Buffer, end: Buffer): Promise<number>;
    /** A RocksDB property (e.g. "rocksdb.num-running-compactions"), as RocksDB formats it. */
    getProperty(name: string): Promise<string>;
  }
  export default RocksDB;
}
