// Follows one graph's log and folds it into RocksDB exactly once: per batch of records, prefetch →
// fold → stage writes; one write batch carries index writes, tx records and the materialized offset.

import { EventEmitter } from 'node:events';
import type { BrokerAdapter, LogRecord } from '../broker-adapters/types.js';
import { checkTxSchemaHeader, decodeTx, encodeTxReport } from '../codec/avro.js';
import type { Limits } from '../core/limits.js';
import type { Op, TxInput, TxReport } from '../core/types.js';
import { coerceValue } from '../core/values.js';
import * as K from '../store/keys.js';
import {
  decodeMeta, decodeSchemaEntry, encodeMeta, encodeSchemaEntry, type GraphMeta, type SchemaEntry, type StoredVersion,
} from '../store/records.js';
import type { KeyValue, Store } from '../store/rocks.js';
import { EntityCache } from './cache.js';
import { foldTx, invalidRecord, type FoldResult } from './fold.js';
import { PrefetchedInput, liveEdgesOf, referencedIds, type StateLookups, type UniqueProbe } from './prefetch.js';
import { StagedIndexes } from './staged.js';
import { emptySchema, type Schema } from './state.js';
import { stageCommitted } from './writes.js';

export interface MaterializerHooks {
  onFolded?(report: TxReport, foldSeconds: number): void;
  onError?(err: unknown): void;
  /**
   * Static checks the codec cannot make because they belong to a layer above (a view's query is checked
   * by the query language): throws on a violation, and the record becomes an `invalid_record` abort.
   */
  checkTx?(tx: TxInput): void;
}

const META_KEY = K.metaKey('state');

export function initialMeta(): GraphMeta {
  return { offset: -1, timeMs: 0, txs: 0, committed: 0, aborted: 0, live: 0, keyLayoutVersion: K.KEY_LAYOUT_VERSION };
}

export async function loadMeta(store: Store): Promise<GraphMeta> {
  const buf = await store.get(META_KEY);
  const meta = buf ? decodeMeta(buf) : initialMeta();
  if (meta.keyLayoutVersion !== K.KEY_LAYOUT_VERSION) {
    throw new Error(`state was written with key layout v${meta.keyLayoutVersion}; this build reads v${K.KEY_LAYOUT_VERSION}: run \`strata rebuild\``);
  }
  return meta;
}

export async function loadSchemaHistory(store: Store): Promise<SchemaEntry[]> {
  return (await store.scanPrefix(K.SCHEMA_PREFIX)).map((kv) => decodeSchemaEntry(kv.value));
}

export function schemaFromHistory(entries: SchemaEntry[], basis: number): Schema {
  const schema = emptySchema();
  for (const e of entries) {
    if (e.offset > basis) break;
    if ('attr' in e) schema.attrs.set(e.attr, e.definition);
    else if ('type' in e) schema.types.set(e.type, e.definition);
    else if (e.definition === null) schema.views.delete(e.view);
    else schema.views.set(e.view, e.definition);
  }
  return schema;
}

/**
 * After each write batch is durable in RocksDB: emits 'flush' (the StoredVersions it wrote), then
 * 'report' (TxReport) for each tx in offset order.
 */
export class Materializer extends EventEmitter {
  /** State of the fold, including staged txs not yet written. */
  meta: GraphMeta = initialMeta();
  /** State as written to RocksDB: what reads may see. Updated before 'report' events fire. */
  durable: GraphMeta = initialMeta();
  schema: Schema = emptySchema();
  schemaHistory: SchemaEntry[] = [];
  /** The fold's entity cache (public for its metrics: `stats()`). */
  readonly cache: EntityCache;
  private pending: KeyValue[] = [];
  private pendingReports: TxReport[] = [];
  private pendingKeys = new Map<string, number>();
  /** Edge scans of terminated nodes for the batch being folded; cleared by every write. */
  private readonly edgeScans = new Map<string, Promise<string[]>>();
  private pendingVersions: StoredVersion[] = [];
  private readonly staged = new StagedIndexes();
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  /**
   * End offset up to which the log is known to be read and folded (0: not known yet). Only adapters with
   * offset gaps report it; it moves past transaction markers, which `durable.offset` never reaches.
   * Each advance is emitted as 'caughtUp' (the new end offset).
   */
  caughtUpEnd = 0;

  constructor(
    readonly graph: string,
    private readonly log: BrokerAdapter,
    readonly store: Store,
    private readonly limits: Limits,
    private readonly hooks: MaterializerHooks = {},
  ) {
    super();
    this.setMaxListeners(0);
    this.cache = new EntityCache(store, limits.entityCacheEntriesMax, limits.entityCacheBytesMax);
  }

  /** Loads the stored offset and schema (O(1) in history length) and starts following the log. */
  async start(): Promise<void> {
    this.meta = await loadMeta(this.store);
    this.durable = { ...this.meta };
    this.schemaHistory = await loadSchemaHistory(this.store);
    this.schema = schemaFromHistory(this.schemaHistory, Infinity);
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async follow(): Promise<void> {
    try {
      for await (const records of this.log.tail(this.graph, this.meta.offset + 1, this.abort.signal, (end) => this.caughtUp(end))) {
        await this.processBatch(records);
      }
    } catch (err) {
      if (!this.abort.signal.aborted) this.hooks.onError?.(err);
    }
  }

  /** Folds a batch of records; public so a rebuild can drive it without a live tail. */
  async processBatch(records: LogRecord[]): Promise<void> {
    const fresh = records.filter((r) => r.offset > this.meta.offset); // skip what is already materialized
    const decoded = fresh.map((r) => this.decode(r));
    // One batched read warms the cache for every entity the batch names; per-tx prefetches then hit.
    await this.cache.load(decoded.flatMap((tx) => (typeof tx === 'string' ? [] : referencedIds(tx))));
    // The edge scans of the nodes the batch terminates start together, not one tx after another.
    for (const tx of decoded) {
      if (typeof tx === 'string') continue;
      for (const op of tx.ops) if (op.op === 'terminate' && this.cache.peek(op.id)?.kind === 'node') void this.storedLiveEdges(op.id).catch(() => undefined);
    }
    for (let i = 0; i < fresh.length; i++) await this.processRecord(fresh[i], decoded[i]);
    await this.flush();
    this.cache.evict();
  }

  /** The tail read everything below `end` and every record of it is durable (see CaughtUpListener). */
  private caughtUp(end: number): void {
    if (end <= this.caughtUpEnd) return;
    this.caughtUpEnd = end;
    this.emit('caughtUp', end);
  }

  private decode(record: LogRecord): TxInput | string {
    try {
      checkTxSchemaHeader(record.headers['strata-schema']);
      const tx = decodeTx(record.value, this.limits);
      this.hooks.checkTx?.(tx);
      return tx;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  private async processRecord(record: LogRecord, decoded: TxInput | string): Promise<void> {
    const started = process.hrtime.bigint();
    const timeMs = Math.max(this.meta.timeMs, record.timestampMs);
    let result: FoldResult;
    let tx: TxInput;
    if (typeof decoded === 'string') {
      tx = { id: null, meta: {}, ops: [] };
      result = invalidRecord(decoded);
    } else {
      tx = decoded;
      const input = await this.prefetch(tx);
      result = foldTx(input, tx, record.offset);
    }
    const report: TxReport = {
      offset: record.offset, timeMs, status: result.status, id: tx.id, meta: tx.meta, ops: tx.ops, changes: result.changes,
      ...(result.error ? { error: result.error } : {}),
      ...(result.originalOffset === undefined ? {} : { originalOffset: result.originalOffset }),
    };
    this.stage(report, result);
    this.hooks.onFolded?.(report, Number(process.hrtime.bigint() - started) / 1e9);
  }

  private stage(report: TxReport, result: FoldResult): void {
    const meta = this.meta;
    meta.offset = report.offset;
    meta.timeMs = report.timeMs;
    meta.txs++;
    if (result.status === 'committed') {
      meta.committed++;
      const bases = result.entities.map((e) => this.cache.peek(e.id) ?? undefined);
      meta.live += stageCommitted(this.pending, report, result, bases, this.pendingVersions);
      for (const e of result.entities) this.cache.put(e);
      this.staged.add(result.entities, result.schema ?? this.schema);
      if (result.schema) this.applySchema(report.offset, result);
      if (report.id !== null) {
        this.pending.push({ key: K.idemKey(report.id), value: K.u64(report.offset) });
        this.pendingKeys.set(report.id, report.offset);
      }
    } else {
      meta.aborted++;
    }
    this.pending.push({ key: K.txKey(report.offset), value: encodeTxReport(report) });
    this.pending.push({ key: K.timeKey(report.timeMs, report.offset), value: Buffer.alloc(0) });
    this.pendingReports.push(report);
  }

  private applySchema(offset: number, result: FoldResult): void {
    this.schema = result.schema!;
    let seq = 0; // several schema changes may share an offset
    for (const c of result.changes) {
      if (c.kind !== 'schema') continue;
      const entry: SchemaEntry = 'attr' in c ? { offset, attr: c.attr, definition: c.definition! }
        : 'type' in c ? { offset, type: c.type, definition: c.definition! } : { offset, view: c.view, definition: c.definition };
      this.schemaHistory.push(entry);
      this.pending.push({ key: K.schemaKey(offset, seq++), value: encodeSchemaEntry(entry) });
    }
  }

  /** Writes staged state atomically with the materialized offset, then announces the reports. */
  async flush(): Promise<void> {
    if (this.pendingReports.length === 0) return;
    this.pending.push({ key: META_KEY, value: encodeMeta(this.meta) });
    const puts = this.pending;
    const reports = this.pendingReports;
    const versions = this.pendingVersions;
    this.pending = [];
    this.pendingReports = [];
    this.pendingVersions = [];
    await this.store.write(puts);
    this.edgeScans.clear(); // scans from before this write may miss what it wrote
    this.durable = { ...this.meta };
    this.pendingKeys.clear();
    this.staged.clear();
    this.cache.markFlushed();
    // Read caches follow durable state: they learn of new versions before any report announces them.
    this.emit('flush', versions);
    for (const report of reports) this.emit('report', report);
  }

  private lookups(): StateLookups {
    return {
      store: this.store,
      cache: this.cache,
      committedKey: async (key) => {
        const pending = this.pendingKeys.get(key);
        if (pending !== undefined) return pending;
        const buf = await this.store.get(K.idemKey(key));
        return buf ? Number(buf.readBigUInt64BE(0)) : undefined;
      },
      storedLiveEdges: (node) => this.storedLiveEdges(node),
      flushPending: () => this.flush(),
      hasPending: () => this.pendingReports.length > 0,
      staged: this.staged,
    };
  }

  /** RocksDB's live edges of a node, scanned once per batch (until the next write). */
  private storedLiveEdges(node: string): Promise<string[]> {
    const started = this.edgeScans.get(node);
    if (started !== undefined) return started;
    const scan = liveEdgesOf(this.store, node);
    this.edgeScans.set(node, scan);
    return scan;
  }

  private async prefetch(tx: TxInput): Promise<PrefetchedInput> {
    const input = new PrefetchedInput(this.schema, this.lookups());
    await input.load(tx, uniqueProbes(tx, this.schema));
    return input;
  }
}

/** (attr, identity) pairs whose unique holders the fold may ask for: set/add values of unique attrs. */
function uniqueProbes(tx: TxInput, schema: Schema): UniqueProbe[] {
  const defs = new Map(schema.attrs);
  const probes: UniqueProbe[] = [];
  for (const op of tx.ops as Op[]) {
    if (op.op === 'defineAttr') defs.set(op.attr, { valueType: op.valueType, cardinality: op.cardinality, unique: op.unique });
    if ((op.op === 'set' || op.op === 'add') && defs.get(op.attr)?.unique) {
      const v = coerceValue(op.value, defs.get(op.attr));
      if (v) probes.push({ attr: op.attr, value: v });
    }
  }
  return probes;
}
