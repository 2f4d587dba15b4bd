// openStrata: the embedded library surface (StrataDb) over a broker adapter, one RocksDB per graph,
// the materializers and the query layer. The HTTP API is built on exactly this.

import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { EmbeddedLogAdapter } from './broker-adapters/embedded.js';
import type { BrokerAdapter } from './broker-adapters/types.js';
import { encodeTx, txSchemaFingerprint } from './codec/avro.js';
import { StrataError } from './core/errors.js';
import { DEFAULT_LIMITS, GRAPH_NAME_PATTERN, type Limits } from './core/limits.js';
import {
  LaggedError, type DiffFilter, type EntityView, type GraphInfo, type HistoryEntry, type ListQuery, type PublishOptions,
  type BackupInfo, type CacheStats, type CompactionStats, type PublishResult, type QueryResult, type ReadOptions, type SliceChecksum, type StrataDb, type SubscribeOptions,
  type ViewDeltaEvent, type ViewInfo, type ViewRowsPage,
} from './core/strata-api.js';
import type { Change, TxInput, TxReport } from './core/types.js';
import { BACKUP_NAME_PATTERN, backupGraphs } from './db/backup.js';
import { ChangesProducer } from './db/changes-producer.js';
import { DISCOVERY_INTERVAL_MS_DEFAULT, GraphDiscovery } from './db/discovery.js';
import { GraphHandle } from './db/graph.js';
import { listEntities } from './db/listing.js';
import type { MaterializerHooks } from './materializer/materializer.js';
import { sliceChecksum } from './query/checksum.js';
import { diff, DiffTooLargeError } from './query/diff.js';
import { prepareQuery, queryReadOptions, runQuery } from './query/lang/run.js';
import { ViewChangelogProducer } from './views/changelog-producer.js';
import { checkViewOps } from './views/definition.js';
import { ViewMaintainer } from './views/maintainer.js';
import { defineViewTx, everDefined, listViews, retireViewTx, viewInfo, viewRowsPage } from './views/service.js';
import { subscribeView } from './views/subscribe.js';

export interface StrataOptions {
  dataDir: string;
  /** Defaults to the embedded log under `<dataDir>/log`. */
  broker?: BrokerAdapter;
  logger?: Logger;
  limits?: Partial<Limits>;
  hooks?: MaterializerHooks;
  /** Produce every tx report to the output topic `<graph>.changes` (default: when the broker has output topics). */
  changes?: boolean;
  /** On a shared log (Kafka), how often to look for graphs other replicas created (default 3 s). */
  discoveryIntervalMs?: number;
  /** Where `backup()` writes (one sub-directory per backup); default `<dataDir>/backups`. */
  backupDir?: string;
}

function schemaJson(handle: GraphHandle, basis: number): GraphInfo['schema'] {
  const schema = handle.schemaAt(basis);
  return { attrs: Object.fromEntries(schema.attrs), types: Object.fromEntries(schema.types) };
}

class Strata implements StrataDb {
  private readonly graphs = new Map<string, GraphHandle>();
  /** One view maintainer per open graph (src/views): stopped before its graph closes. */
  private readonly maintainers = new Map<string, ViewMaintainer>();
  private readonly opening = new Map<string, Promise<GraphHandle>>();
  private closed = false;
  /** Replicas share the log but never talk: each learns of graphs created elsewhere from the log. */
  private readonly discovery: GraphDiscovery | null;
  /** Root of `backup()` targets (set by openStrata). */
  backupDir = '';
  /** The running backup (one at a time), stopped by close(). */
  private backupRun: { done: Promise<unknown>; abort: AbortController } | null = null;

  constructor(private readonly dataDir: string, readonly log: BrokerAdapter, readonly limits: Limits, private readonly hooks: MaterializerHooks, private readonly logger?: Logger, private readonly changes: ChangesProducer | null = null, discoveryIntervalMs = DISCOVERY_INTERVAL_MS_DEFAULT, private readonly viewChangelog: ViewChangelogProducer | null = null) {
    const target = { isOpen: (graph: string) => this.graphs.has(graph) || this.opening.has(graph), open: (graph: string) => this.open(graph) };
    this.discovery = log.supports.shared ? new GraphDiscovery(log, target, discoveryIntervalMs, logger) : null;
  }

  async start(): Promise<void> {
    await this.log.open();
    for (const name of await this.log.listGraphs()) await this.open(name);
    this.discovery?.start();
  }

  private open(name: string): Promise<GraphHandle> {
    const existing = this.graphs.get(name);
    if (existing) return Promise.resolve(existing);
    if (this.closed) return Promise.reject(new Error('this Strata instance is closed'));
    let pending = this.opening.get(name);
    if (!pending) {
      pending = (async () => {
        if (this.graphs.size >= this.limits.graphsMax) throw new StrataError('too_many_graphs', `this process serves at most ${this.limits.graphsMax} graphs`);
        await this.log.ensureGraph(name);
        const hooks: MaterializerHooks = {
          ...this.hooks,
          onError: (err) => {
            this.logger?.error({ err, graph: name }, 'materializer stopped');
            this.hooks.onError?.(err);
          },
          checkTx: (tx) => checkViewOps(tx, this.limits),
        };
        const handle = await GraphHandle.open(name, this.dataDir, this.log, this.limits, hooks);
        const maintainer = new ViewMaintainer(handle, this.limits, this.logger);
        await maintainer.start().catch(async (err: unknown) => {
          await handle.close();
          throw err;
        });
        this.maintainers.set(name, maintainer);
        this.graphs.set(name, handle);
        this.changes?.attach(handle);
        this.viewChangelog?.attach(handle, maintainer);
        return handle;
      })().finally(() => this.opening.delete(name));
      this.opening.set(name, pending);
    }
    return pending;
  }

  private handle(graph: string): GraphHandle {
    const h = this.graphs.get(graph);
    if (!h) {
      if (!GRAPH_NAME_PATTERN.test(graph)) throw new StrataError('invalid_graph_name', `invalid graph name ${JSON.stringify(graph)}`);
      throw new StrataError('graph_not_found', `no graph named ${JSON.stringify(graph)}`, { graph });
    }
    return h;
  }

  /**
   * The graph a read names. A read with a basis to wait for (minBasis, at) may follow a write made
   * through another replica to a graph this one has not discovered yet: look for it on the log first.
   */
  private async handleForRead(graph: string, options: ReadOptions): Promise<GraphHandle> {
    const waits = options.minBasis !== undefined || options.at !== undefined;
    if (this.discovery && waits && !this.graphs.has(graph) && GRAPH_NAME_PATTERN.test(graph)) {
      await this.discovery.find(graph, this.limits.basisWaitMsMax);
      await this.opening.get(graph);
    }
    return this.handle(graph);
  }

  private checkName(graph: string): void {
    if (!GRAPH_NAME_PATTERN.test(graph)) throw new StrataError('invalid_graph_name', `invalid graph name ${JSON.stringify(graph)}`);
  }

  async listGraphs(): Promise<GraphInfo[]> {
    return Promise.all([...this.graphs.keys()].sort().map((g) => this.graphInfo(g)));
  }

  async graphInfo(graph: string): Promise<GraphInfo> {
    const h = this.handle(graph);
    const m = h.materializer.durable;
    return {
      name: graph,
      latestOffset: (await this.log.endOffset(graph)) - 1,
      // Past trailing transaction markers (Kafka), so that lag reads 0 once nothing readable is left.
      materializedOffset: h.materializedThrough,
      materializedTime: m.offset < 0 ? null : new Date(m.timeMs).toISOString(),
      counts: { transactions: m.txs, committed: m.committed, aborted: m.aborted, liveEntities: m.live },
      storageBytes: await h.store.approximateSize(),
      schema: schemaJson(h, m.offset),
    };
  }

  async createGraph(graph: string): Promise<GraphInfo> {
    this.checkName(graph);
    await this.open(graph);
    return this.graphInfo(graph);
  }

  async transact(graph: string, tx: TxInput, options: PublishOptions): Promise<PublishResult> {
    return (await this.transactBatch(graph, [tx], options))[0];
  }

  async transactBatch(graph: string, txs: TxInput[], options: PublishOptions): Promise<PublishResult[]> {
    this.checkName(graph);
    const records = txs.map((tx, i) => {
      checkViewOps(tx, this.limits); // view queries are static input too: 400 before anything is logged
      const value = encodeTx(tx);
      if (value.length > this.limits.txBodyBytesMax) {
        throw new StrataError('payload_too_large', `transaction ${i} encodes to ${value.length} bytes; the limit is ${this.limits.txBodyBytesMax}`, { transaction: i });
      }
      return { key: tx.id, value, headers: { 'strata-schema': txSchemaFingerprint } };
    });
    const h = await this.open(graph);
    const appended = await this.log.append(graph, records);
    if (!options.wait) return appended.map((a) => ({ offset: a.offset, status: 'pending' as const }));
    const deadline = Date.now() + options.timeoutMs;
    return Promise.all(appended.map((a) => this.outcome(h, a.offset, Math.max(0, deadline - Date.now()))));
  }

  private async outcome(h: GraphHandle, offset: number, timeoutMs: number): Promise<PublishResult> {
    const report = await h.waitForReport(offset, timeoutMs);
    if (!report) return { offset, status: 'pending' };
    if (report.error?.code === 'duplicate_tx' && report.originalOffset !== undefined) {
      const original = await h.reader.report(report.originalOffset);
      if (original) return { ...resultOf(original), duplicate: true } as PublishResult;
    }
    return resultOf(report);
  }

  async resolveBasis(graph: string, options: ReadOptions): Promise<number> {
    const h = await this.handleForRead(graph, options);
    const wait = this.limits.basisWaitMsMax;
    if (options.at !== undefined) {
      const latest = (await this.log.endOffset(graph)) - 1;
      if (options.at > latest) throw new StrataError('offset_out_of_range', `offset ${options.at} is beyond the end of the log (latest: ${latest})`, { offset: options.at, latest });
    }
    const needed = Math.max(options.at ?? -1, options.minBasis ?? -1);
    if (needed > h.durableOffset) await h.waitForOffset(needed, wait);
    if (options.at !== undefined) return options.at;
    if (options.asOf !== undefined) {
      const timeMs = Date.parse(options.asOf);
      if (!Number.isFinite(timeMs)) throw new StrataError('invalid_offset', `asOf must be an ISO-8601 time, got ${JSON.stringify(options.asOf)}`);
      return Math.min(await h.reader.offsetAtTime(timeMs), h.durableOffset);
    }
    return h.durableOffset;
  }

  async entity(graph: string, id: string, basis: number): Promise<EntityView | null> {
    return this.handle(graph).reader.entity(id, basis);
  }

  latestAttrs(graph: string, id: string): Readonly<Record<string, unknown>> | null | undefined {
    const h = this.handle(graph);
    return h.reader.attrsCached(id, h.durableOffset);
  }

  async listEntities(graph: string, query: ListQuery, basis: number): Promise<{ items: EntityView[]; nextAfterId: string | null }> {
    return listEntities(this.handle(graph), query, basis);
  }

  async history(graph: string, id: string, basis: number): Promise<HistoryEntry[] | null> {
    try {
      return await this.handle(graph).reader.history(id, basis, this.limits.historyChangesMax);
    } catch (err) {
      if (err instanceof RangeError) throw new StrataError('diff_too_large', `the history of ${JSON.stringify(id)} has more than ${this.limits.historyChangesMax} changes`);
      throw err;
    }
  }

  async diff(graph: string, from: number, to: number, filter: DiffFilter): Promise<Change[]> {
    await this.resolveBasis(graph, { at: Math.max(from, to) });
    const h = this.handle(graph);
    try {
      return await diff({ reader: h.reader, schemaAt: (b) => h.schemaAt(b), maxChanges: this.limits.diffChangesMax }, from, to, filter);
    } catch (err) {
      if (err instanceof DiffTooLargeError) throw new StrataError('diff_too_large', err.message);
      throw err;
    }
  }

  async txLog(graph: string, from: number, limit: number, basis: number): Promise<{ items: TxReport[]; next: number | null }> {
    const items = await this.handle(graph).reader.reports(from, basis, limit + 1);
    const more = items.length > limit;
    if (more) items.length = limit;
    return { items, next: more ? items[items.length - 1].offset + 1 : null };
  }

  async tx(graph: string, offset: number): Promise<TxReport | null> {
    const h = this.handle(graph);
    if (offset > h.durableOffset) return null;
    return h.reader.report(offset);
  }

  subscribe(graph: string, from: number | undefined, options: SubscribeOptions): AsyncIterable<TxReport> {
    return subscribe(this.handle(graph), from, options);
  }

  async query(graph: string, query: unknown, options: ReadOptions): Promise<QueryResult> {
    const h = this.handle(graph);
    const prepared = prepareQuery(query, this.limits); // static errors answer before any basis wait
    const basis = await this.resolveBasis(graph, queryReadOptions(prepared.query, options));
    const graphSlices = { reader: h.reader, schemaAt: (b: number) => h.schemaAt(b), liveEntities: () => h.materializer.durable.live };
    return runQuery(graphSlices, prepared, basis, this.limits);
  }

  private maintainer(graph: string): ViewMaintainer {
    this.handle(graph);
    return this.maintainers.get(graph)!;
  }

  /** Like any publish, a view definition brings its graph into being. */
  async defineView(graph: string, name: string, query: unknown, options: PublishOptions): Promise<PublishResult> {
    this.checkName(graph);
    return this.transact(graph, defineViewTx(await this.open(graph), name, query, this.limits, authorMeta(options)), options);
  }

  async retireView(graph: string, name: string, options: PublishOptions): Promise<PublishResult> {
    return this.transact(graph, retireViewTx(this.handle(graph), name, authorMeta(options)), options);
  }

  async views(graph: string, basis: number): Promise<ViewInfo[]> {
    return listViews(this.handle(graph), this.maintainer(graph), basis);
  }

  async view(graph: string, name: string, basis: number): Promise<ViewInfo> {
    return viewInfo(graph, this.handle(graph), this.maintainer(graph), name, basis);
  }

  async viewRows(graph: string, name: string, options: ReadOptions, page: { limit: number; after?: string }): Promise<ViewRowsPage> {
    const basis = await this.resolveBasis(graph, options);
    return viewRowsPage(graph, this.handle(graph), this.maintainer(graph), name, basis, page, this.limits.basisWaitMsMax);
  }

  subscribeView(graph: string, name: string, from: number | undefined, options: SubscribeOptions): AsyncIterable<ViewDeltaEvent> {
    const h = this.handle(graph);
    if (!everDefined(h, name)) throw new StrataError('view_not_found', `graph ${JSON.stringify(graph)} has no view ${JSON.stringify(name)}`, { view: name });
    return subscribeView(h.store, this.maintainer(graph), name, from, options);
  }

  async checksum(graph: string, basis: number): Promise<SliceChecksum> {
    const h = this.handle(graph);
    return sliceChecksum(h.store, h.schemaAt(basis), Math.min(basis, h.durableOffset));
  }

  async backup(graph: string, options: { name?: string; checksum?: boolean } = {}): Promise<BackupInfo> {
    const h = this.handle(graph);
    const name = options.name ?? `${graph}-${new Date().toISOString().replace(/[-:]/g, '').replace('.', '-')}`;
    if (!BACKUP_NAME_PATTERN.test(name)) throw new StrataError('invalid_request', `a backup name matches ${BACKUP_NAME_PATTERN.source}, got ${JSON.stringify(name)}`, { field: 'name' });
    if (this.backupRun !== null) throw new StrataError('backup_in_progress', 'another backup is running in this process; retry when it has finished');
    const dir = resolve(this.backupDir, name);
    const abort = new AbortController();
    const done = backupGraphs([{ graph, store: h.store }], dir, { logger: this.logger, checksum: options.checksum, signal: abort.signal });
    this.backupRun = { done: done.catch(() => undefined), abort };
    try {
      const { graphs: [copy] } = await done;
      const { path: _path, ...info } = copy!;
      return { dir, ...info };
    } finally {
      this.backupRun = null;
    }
  }

  cacheStats(): CacheStats[] {
    return [...this.graphs.values()].flatMap((h) => {
      // The read budget is shared by the latest-version cache and the past versions (reader.ts).
      const latest = h.reader.cache.stats();
      const past = h.reader.pastVersions.stats();
      const read = { entries: latest.entries + past.entries, bytes: latest.bytes + past.bytes, bytesMax: latest.bytesMax + past.bytesMax };
      return [{ graph: h.name, cache: 'fold' as const, ...h.materializer.cache.stats() }, { graph: h.name, cache: 'read' as const, ...read }];
    });
  }

  async compactionStats(): Promise<CompactionStats[]> {
    return Promise.all([...this.graphs.values()].map(async (h) => ({ graph: h.name, ...(await h.store.compactionState()) })));
  }

  isReady(): boolean {
    return !this.closed && [...this.graphs.values()].every((g) => g.isReady());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.backupRun?.abort.abort();
    await this.backupRun?.done;
    await this.discovery?.stop();
    await Promise.allSettled([...this.opening.values()]);
    await this.changes?.close();
    await this.viewChangelog?.close();
    for (const m of this.maintainers.values()) await m.stop();
    for (const g of this.graphs.values()) await g.close();
    this.graphs.clear();
    await this.log.close();
  }
}

function authorMeta(options: PublishOptions): Record<string, string> {
  return options.author === undefined ? {} : { author: options.author };
}

function resultOf(r: TxReport): PublishResult {
  if (r.status === 'committed') return { offset: r.offset, status: 'committed', timeMs: r.timeMs };
  return { offset: r.offset, status: 'aborted', timeMs: r.timeMs, error: r.error! };
}

/**
 * Catch-up from the tx index, then live reports from memory. The switch happens in one tick at the
 * durable offset, and reports fire only after the durable offset moves, so nothing is missed or repeated.
 */
async function* subscribe(h: GraphHandle, from: number | undefined, options: SubscribeOptions): AsyncGenerator<TxReport> {
  const { signal, bufferMax } = options;
  let next = from ?? h.durableOffset + 1;
  let live = false;
  let overflow = false;
  const queue: TxReport[] = [];
  let wake: (() => void) | null = null;
  const onReport = (r: TxReport): void => {
    if (live) {
      // An idle consumer with nothing queued may take the report at once, in order by construction.
      if (queue.length === 0 && wake !== null && r.offset >= next && options.deliver?.(r)) {
        next = r.offset + 1;
        return;
      }
      if (queue.length < bufferMax) queue.push(r);
      else if (!overflow) {
        overflow = true;
        options.onOverflow?.();
      }
    }
    wake?.();
  };
  const onAbort = (): void => wake?.();
  h.fanout.add(onReport, options.ids ?? null);
  signal.addEventListener('abort', onAbort);
  try {
    while (!signal.aborted) {
      if (!live) {
        const end = h.durableOffset;
        if (next > end) {
          live = true; // from here every report has an offset above `end`
          continue;
        }
        const page = await h.reader.reports(next, end, 256);
        for (const r of page) {
          if (signal.aborted) return;
          yield r;
          next = r.offset + 1;
        }
        if (page.length === 0) next = end + 1;
        continue;
      }
      const r = queue.shift();
      if (r) {
        if (r.offset >= next) {
          yield r;
          next = r.offset + 1;
        }
        continue;
      }
      if (overflow) throw new LaggedError(next);
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    h.fanout.remove(onReport);
    signal.removeEventListener('abort', onAbort);
  }
}

export async function openStrata(options: StrataOptions): Promise<StrataDb> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.broker ?? new EmbeddedLogAdapter({ dir: join(options.dataDir, 'log'), logger: options.logger });
  const derived = options.changes ?? log.supports.outputTopics;
  const changes = derived ? new ChangesProducer(log, options.dataDir, options.logger) : null;
  // View changelog topics are derived topics too: produced by the same role, never by an `api` replica.
  const viewChangelog = derived ? new ViewChangelogProducer(log, options.dataDir, options.logger) : null;
  const db = new Strata(options.dataDir, log, limits, options.hooks ?? {}, options.logger, changes, options.discoveryIntervalMs, viewChangelog);
  db.backupDir = resolve(options.backupDir ?? join(options.dataDir, 'backups'));
  try {
    await db.start();
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
