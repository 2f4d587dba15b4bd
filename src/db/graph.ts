// One open graph: its state store, its materializer and a reader, plus the waiting that ties
// publishing and reading to the materialized offset (read-your-writes, minBasis).

import { join } from 'node:path';
import type { BrokerAdapter } from '../broker-adapters/types.js';
import { StrataError } from '../core/errors.js';
import type { Limits } from '../core/limits.js';
import type { TxReport } from '../core/types.js';
import { Materializer, schemaFromHistory, type MaterializerHooks } from '../materializer/materializer.js';
import type { Schema } from '../materializer/state.js';
import { GraphReader } from '../query/reader.js';
import type { StoredVersion } from '../store/records.js';
import { Store } from '../store/rocks.js';
import { ReportFanout } from './report-fanout.js';
import { OffsetWaiters } from './waiters.js';

/** Where a graph's RocksDB state lives; `strata rebuild` swaps a fresh one into this place. */
export function stateDir(dataDir: string, graph: string): string {
  return join(dataDir, 'state', graph);
}

export class GraphHandle {
  readonly reader: GraphReader;
  /** Offset the log held when the graph was opened: ready once materialized up to it. */
  private readyTarget = -1;
  private latestSchema: { offset: number; schema: Schema } | null = null;
  private pastSchema: { basis: number; schema: Schema } | null = null;
  private readonly waiters = new OffsetWaiters();
  /** Live subscriptions' report listeners (see subscribe in strata.ts). */
  readonly fanout = new ReportFanout();

  private constructor(readonly name: string, readonly materializer: Materializer, readonly store: Store, limits: Limits) {
    this.reader = new GraphReader(store, (basis) => this.schemaAt(basis), limits.readCacheBytesMax);
    materializer.on('flush', (versions: StoredVersion[]) => this.reader.cache.applyFlush(versions));
    materializer.on('report', (r: TxReport) => {
      this.latestSchema = null;
      this.waiters.reached(r);
      this.fanout.publish(r);
    });
    materializer.on('caughtUp', (end: number) => this.waiters.passed(end - 1));
  }

  static async open(name: string, dataDir: string, log: BrokerAdapter, limits: Limits, hooks: MaterializerHooks): Promise<GraphHandle> {
    const store = await Store.open(stateDir(dataDir, name));
    const materializer = new Materializer(name, log, store, limits, hooks);
    const handle = new GraphHandle(name, materializer, store, limits);
    handle.readyTarget = (await log.endOffset(name)) - 1;
    try {
      await materializer.start();
      // State ahead of the log means the log lost records the fold had seen (a disk fault, a restored
      // old log): new appends would reuse those offsets and be skipped. Only a rebuild is safe.
      if (materializer.durable.offset > handle.readyTarget) {
        throw new Error(`graph ${name}: the state is materialized up to offset ${materializer.durable.offset} but the log ends at ${handle.readyTarget}; the log lost records: run \`strata rebuild\``);
      }
    } catch (err) {
      await handle.close();
      throw err;
    }
    return handle;
  }

  async close(): Promise<void> {
    await this.materializer.stop();
    await this.store.close();
  }

  get durableOffset(): number {
    return this.materializer.durable.offset;
  }

  /**
   * Every offset up to this one is materialized: the durable offset, or further when the log's tail
   * reported reading past offsets that hold no record (Kafka transaction markers, which may end a log
   * for good, so that `durableOffset` alone would never reach the ready target).
   */
  get materializedThrough(): number {
    return Math.max(this.durableOffset, this.materializer.caughtUpEnd - 1);
  }

  isReady(): boolean {
    return this.materializedThrough >= this.readyTarget;
  }

  schemaAt(basis: number): Schema {
    if (basis >= this.durableOffset) {
      const cached = this.latestSchema;
      if (cached && cached.offset === this.durableOffset) return cached.schema;
      const schema = schemaFromHistory(this.materializer.schemaHistory, this.durableOffset);
      this.latestSchema = { offset: this.durableOffset, schema };
      return schema;
    }
    // A past slice's schema never changes (new entries have offsets above the durable one), so the last
    // one asked for is kept: a listing or diff renders many entities at one basis.
    if (this.pastSchema?.basis !== basis) this.pastSchema = { basis, schema: schemaFromHistory(this.materializer.schemaHistory, basis) };
    return this.pastSchema.schema;
  }

  /** Resolves once `offset` is materialized, or rejects with basis_not_reached after `timeoutMs`. */
  async waitForOffset(offset: number, timeoutMs: number): Promise<void> {
    if (this.materializedThrough >= offset) return;
    const report = await this.waiters.wait(offset, timeoutMs);
    if (report === null) {
      throw new StrataError('basis_not_reached', `offset ${offset} was not materialized within ${timeoutMs} ms (materialized: ${this.durableOffset})`, { offset, materialized: this.durableOffset });
    }
  }

  /** The report at `offset` once materialized, or null when `timeoutMs` passes first. */
  async waitForReport(offset: number, timeoutMs: number): Promise<TxReport | null> {
    if (this.durableOffset >= offset) return this.reader.report(offset);
    const report = await this.waiters.wait(offset, timeoutMs);
    // A waiter is woken by the first report at or past its offset: with offset gaps that may be a later one.
    if (report === null) return null;
    return report !== 'passed' && report.offset === offset ? report : this.reader.report(offset);
  }
}
