// Produces every view's deltas to its changelog topic `<graph>.view.<name>` (Kafka: `<prefix>.<graph>.view.<name>`,
// DESIGN §6): one JSON message per row change, keyed by the row key, removals before additions per offset.
//
// Like the changes topic (db/changes-producer.ts) delivery is at least once and the stored deltas are the
// buffer: the maintainer's 'maintained' event only wakes the pump, which reads the deltas after the last
// produced offset back from RocksDB. The last produced offset is kept in `<dataDir>/views/<graph>.offset`,
// so a restart re-produces at most the chunk in flight. Consumers skip offsets they already applied.

import { join } from 'node:path';
import { OffsetFile } from '../db/offset-file.js';
import type { AdapterLogger } from '../broker-adapters/embedded.js';
import type { BrokerAdapter, LogRecordInput } from '../broker-adapters/types.js';
import { sleep } from '../core/sleep.js';
import type { GraphHandle } from '../db/graph.js';
import type { ViewMaintainer } from './maintainer.js';
import { deltasBetween, type ViewDelta } from './rows.js';
import { definitionAt } from './service.js';

/** Deltas read per view per chunk: bounds memory whatever the backlog. */
const DELTAS_PER_CHUNK = 256;
/** Messages per produce call, well under the adapter's record batch limit for small rows. */
const MESSAGES_PER_CALL = 1_000;
const RETRY_MS_MIN = 100;
const RETRY_MS_MAX = 5_000;

interface GraphPump {
  handle: GraphHandle;
  maintainer: ViewMaintainer;
  /** Last maintained offset whose deltas (of every view) the broker acknowledged. */
  produced: number;
  running: Promise<void> | null;
}

/** The message of one row change: what a consumer needs to keep a keyed table of the view. */
export interface ViewChangelogMessage {
  view: string;
  offset: number;
  op: 'added' | 'removed';
  row: unknown[];
}

export class ViewChangelogProducer {
  private readonly graphs = new Map<string, GraphPump>();
  private readonly stopping = new AbortController();

  private readonly offsets: OffsetFile;

  constructor(private readonly log: BrokerAdapter, dataDir: string, private readonly logger?: AdapterLogger) {
    this.offsets = new OffsetFile(join(dataDir, 'views'));
  }

  attach(handle: GraphHandle, maintainer: ViewMaintainer): void {
    if (this.graphs.has(handle.name) || this.stopping.signal.aborted) return;
    const pump: GraphPump = { handle, maintainer, produced: -1, running: null };
    this.graphs.set(handle.name, pump);
    pump.running = this.offsets.load(handle.name).then((offset) => {
      pump.produced = offset;
      maintainer.on('maintained', () => this.wake(pump));
      return this.pump(pump);
    }).catch((err: unknown) => this.warn(pump, err, 'view changelog producer stopped'))
      .finally(() => this.afterRun(pump));
  }

  /** Last maintained offset whose deltas were acknowledged (-1 when none), for tests. */
  producedOffset(graph: string): number {
    return this.graphs.get(graph)?.produced ?? -1;
  }

  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.graphs.values()].map((p) => p.running));
  }

  private wake(pump: GraphPump): void {
    if (pump.running || this.stopping.signal.aborted) return;
    pump.running = this.pump(pump)
      .catch((err: unknown) => this.warn(pump, err, 'view changelog producer stopped'))
      .finally(() => this.afterRun(pump));
  }

  private afterRun(pump: GraphPump): void {
    pump.running = null;
    if (pump.produced < pump.maintainer.offset) this.wake(pump);
  }

  private async pump(pump: GraphPump): Promise<void> {
    while (!this.stopping.signal.aborted && pump.produced < pump.maintainer.offset) {
      const { deltas, through } = await this.chunk(pump, pump.maintainer.offset);
      for (const d of deltas) if (!(await this.produce(pump, d))) return;
      pump.produced = through;
      await this.offsets.save(pump.handle.name, through);
    }
  }

  /** Deltas of every view in (produced, through], `through` shortened so that no view's read was cut off. */
  private async chunk(pump: GraphPump, target: number): Promise<{ deltas: ViewDelta[]; through: number }> {
    const names = new Set<string>();
    for (const e of pump.handle.materializer.schemaHistory) if ('view' in e) names.add(e.view);
    let through = target;
    const all: ViewDelta[] = [];
    for (const name of [...names].sort()) {
      const found = await deltasBetween(pump.handle.store, name, pump.produced + 1, target, DELTAS_PER_CHUNK);
      if (found.length === DELTAS_PER_CHUNK) through = Math.min(through, found[found.length - 1]!.offset);
      all.push(...found);
    }
    return { deltas: all.filter((d) => d.offset <= through).sort((a, b) => a.offset - b.offset), through };
  }

  /** The key columns of the rows a delta removes (old definition) and adds (new one). */
  private messages(pump: GraphPump, d: ViewDelta): LogRecordInput[] {
    const keyOf = (offset: number): ((row: unknown[]) => string) => {
      const found = definitionAt(pump.handle, d.view, offset);
      const columns = found === null ? null : pump.maintainer.spec(found.definition).prepared.query.find.flatMap((f, i) => (f.kind === 'var' ? [i] : []));
      return (row) => JSON.stringify(columns === null ? row : columns.map((i) => row[i]));
    };
    const removedKey = keyOf(d.offset - 1);
    const addedKey = keyOf(d.offset);
    const message = (op: 'added' | 'removed', row: unknown[], key: string): LogRecordInput => {
      const body: ViewChangelogMessage = { view: d.view, offset: d.offset, op, row };
      return { key, value: Buffer.from(JSON.stringify(body)), headers: { 'strata-view-offset': String(d.offset) } };
    };
    return [...d.removed.map((row) => message('removed', row, removedKey(row))), ...d.added.map((row) => message('added', row, addedKey(row)))];
  }

  /** Produces one delta, retrying operating failures until acknowledged; false once stopping. */
  private async produce(pump: GraphPump, d: ViewDelta): Promise<boolean> {
    const records = this.messages(pump, d);
    const topic = `${pump.handle.name}.view.${d.view}`;
    for (let i = 0; i < records.length; i += MESSAGES_PER_CALL) {
      for (let attempt = 0; ; attempt++) {
        if (this.stopping.signal.aborted) return false;
        try {
          await this.log.produce(topic, records.slice(i, i + MESSAGES_PER_CALL));
          break;
        } catch (err) {
          if (attempt % 20 === 0) this.warn(pump, err, 'producing a view delta failed; retrying');
          await sleep(Math.min(RETRY_MS_MAX, RETRY_MS_MIN * 2 ** Math.min(attempt, 6)), this.stopping.signal);
        }
      }
    }
    return true;
  }

  private warn(pump: GraphPump, err: unknown, what: string): void {
    this.logger?.warn({ graph: pump.handle.name, produced: pump.produced, err: err instanceof Error ? err.message : String(err) }, what);
  }
}
