// Produces every view's deltas to its changelog topic `<graph>.view.<name>` (Kafka: `<prefix>.<graph>.view.<name>`,
// DESIGN §6): one JSON message per row change, keyed by the row key, removals before additions per offset.
//
// Like the changes topic, delivery is at least once (db/derived-topic.ts) and the stored deltas are the
// buffer: the maintainer's 'maintained' event only wakes the pump, which reads the deltas after the last
// produced offset back from RocksDB. The last produced offset is kept in `<dataDir>/views/<graph>.offset`.
// Consumers skip offsets they already applied.

import type { AdapterLogger } from '../broker-adapters/embedded.js';
import type { BrokerAdapter, LogRecordInput } from '../broker-adapters/types.js';
import { DerivedTopicProducer, type Pump } from '../db/derived-topic.js';
import type { GraphHandle } from '../db/graph.js';
import type { ViewMaintainer } from './maintainer.js';
import { deltasBetween, type ViewDelta } from './rows.js';
import { definitionAt } from './service.js';

/** Deltas read per view per chunk: bounds memory whatever the backlog. */
const DELTAS_PER_CHUNK = 256;
/** Messages per produce call, well under the adapter's record batch limit for small rows. */
const MESSAGES_PER_CALL = 1_000;

/** `produced`: the last maintained offset whose deltas (of every view) the broker acknowledged. */
interface GraphPump extends Pump {
  maintainer: ViewMaintainer;
}

/** The message of one row change: what a consumer needs to keep a keyed table of the view. */
export interface ViewChangelogMessage {
  view: string;
  offset: number;
  op: 'added' | 'removed';
  row: unknown[];
}

export class ViewChangelogProducer extends DerivedTopicProducer<GraphPump> {
  constructor(log: BrokerAdapter, dataDir: string, logger?: AdapterLogger) {
    super(log, dataDir, 'views', logger, 'view changelog');
  }

  attach(handle: GraphHandle, maintainer: ViewMaintainer): void {
    this.start({ handle, maintainer, produced: -1, running: null, lastWarnMs: 0 }, (wake) => maintainer.on('maintained', wake));
  }

  protected target(pump: GraphPump): number {
    return pump.maintainer.offset;
  }

  protected async produceChunk(pump: GraphPump, target: number): Promise<number | null> {
    const { deltas, through } = await this.chunk(pump, target);
    for (const d of deltas) if (!(await this.produce(pump, d))) return null;
    return through;
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
      if (!(await this.produceRetrying(pump, topic, records.slice(i, i + MESSAGES_PER_CALL)))) return false;
    }
    return true;
  }
}
