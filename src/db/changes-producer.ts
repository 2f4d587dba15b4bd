// Produces every tx report of every open graph to the output topic `<graph>.changes` (Kafka:
// `<prefix>.<graph>.changes`, DESIGN §5): Avro TxReport, key = offset in decimal, in offset order.
//
// Delivery is at least once, across restarts too. The tx index is the buffer: a materializer 'report'
// event only wakes the pump, which reads the reports after the last produced offset back from the tx
// index and produces them in chunks. The last produced offset is kept in `<dataDir>/changes/<graph>.offset`
// (written after each acknowledged chunk), so a restart re-produces at most the chunk in flight at the
// crash. Memory stays bounded however long the broker is away, and catch-up and live share one path.
// Consumers skip keys at or below the last offset they processed.

import { join } from 'node:path';
import { OffsetFile } from './offset-file.js';
import type { AdapterLogger } from '../broker-adapters/embedded.js';
import type { BrokerAdapter, LogRecordInput } from '../broker-adapters/types.js';
import { encodeTxReport, txReportSchemaFingerprint } from '../codec/avro.js';
import { StrataError } from '../core/errors.js';
import type { TxReport } from '../core/types.js';
import type { GraphHandle } from './graph.js';
import { sleep } from '../core/sleep.js';

/** Reports per produce call: one read of the tx index and one request to the broker. */
const CHUNK_REPORTS_MAX = 256;
/** Bytes per produce call, well under the Kafka adapter's record batch limit. */
const CHUNK_BYTES_MAX = 2 * 1024 * 1024;
const RETRY_MS_MIN = 100;
const RETRY_MS_MAX = 5_000;
const WARN_INTERVAL_MS = 30_000;

interface GraphPump {
  handle: GraphHandle;
  /** Last offset acknowledged by the broker (-1: none). */
  produced: number;
  running: Promise<void> | null;
  lastWarnMs: number;
}

export class ChangesProducer {
  private readonly graphs = new Map<string, GraphPump>();
  private readonly stopping = new AbortController();

  private readonly offsets: OffsetFile;

  constructor(private readonly log: BrokerAdapter, dataDir: string, private readonly logger?: AdapterLogger) {
    this.offsets = new OffsetFile(join(dataDir, 'changes'));
  }

  /** Starts producing a graph's reports, from the persisted offset (catch-up), then as they are folded. */
  attach(handle: GraphHandle): void {
    if (this.graphs.has(handle.name) || this.stopping.signal.aborted) return;
    const pump: GraphPump = { handle, produced: -1, running: null, lastWarnMs: 0 };
    this.graphs.set(handle.name, pump);
    pump.running = this.offsets.load(handle.name).then((offset) => {
      pump.produced = offset;
      handle.materializer.on('report', () => this.wake(pump));
      return this.pump(pump);
    }).catch((err: unknown) => this.logger?.warn({ err: messageOf(err), graph: handle.name }, 'changes producer stopped'))
      .finally(() => this.afterRun(pump));
  }

  /** Last offset whose report the broker acknowledged (-1 when none), for tests and metrics. */
  producedOffset(graph: string): number {
    return this.graphs.get(graph)?.produced ?? -1;
  }

  /** Stops every pump; a chunk in flight finishes or fails within the adapter's append bound. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.graphs.values()].map((p) => p.running));
  }

  private wake(pump: GraphPump): void {
    if (pump.running || this.stopping.signal.aborted) return;
    pump.running = this.pump(pump)
      .catch((err: unknown) => this.logger?.warn({ err: messageOf(err), graph: pump.handle.name }, 'changes producer stopped'))
      .finally(() => this.afterRun(pump));
  }

  /** Reports folded while the pump was finishing its last chunk start it again. */
  private afterRun(pump: GraphPump): void {
    pump.running = null;
    if (pump.produced < pump.handle.durableOffset) this.wake(pump);
  }

  private async pump(pump: GraphPump): Promise<void> {
    while (!this.stopping.signal.aborted && pump.produced < pump.handle.durableOffset) {
      const target = pump.handle.durableOffset;
      const chunk = takeChunk(await pump.handle.reader.reports(pump.produced + 1, target, CHUNK_REPORTS_MAX));
      if (chunk.length > 0 && !(await this.produce(pump, chunk))) return;
      // With offset gaps a read may come back short of `target`: nothing lies in between.
      pump.produced = chunk.length > 0 ? chunk[chunk.length - 1]!.offset : target;
      await this.offsets.save(pump.handle.name, pump.produced);
    }
  }

  /** Produces one chunk, retrying operating failures until it is acknowledged; false once stopping. */
  private async produce(pump: GraphPump, chunk: EncodedReport[]): Promise<boolean> {
    const records: LogRecordInput[] = chunk.map((r) => ({ key: String(r.offset), value: r.value, headers: { 'strata-schema': txReportSchemaFingerprint } }));
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      try {
        await this.log.produce(`${pump.handle.name}.changes`, records);
        return true;
      } catch (err) {
        if (err instanceof StrataError && err.code === 'payload_too_large' && chunk.length === 1) {
          // Retrying cannot help; stalling would stop every later report. Loud, and skipped.
          this.logger?.warn({ graph: pump.handle.name, offset: chunk[0]!.offset, err: err.message }, 'a tx report is too large for the changes topic; skipped');
          return true;
        }
        this.warnThrottled(pump, err);
        await sleep(Math.min(RETRY_MS_MAX, RETRY_MS_MIN * 2 ** Math.min(attempt, 6)), this.stopping.signal);
      }
    }
    return false;
  }

  private warnThrottled(pump: GraphPump, err: unknown): void {
    const now = Date.now();
    if (now - pump.lastWarnMs < WARN_INTERVAL_MS) return;
    pump.lastWarnMs = now;
    this.logger?.warn({ graph: pump.handle.name, produced: pump.produced, err: messageOf(err) }, 'producing tx reports to the changes topic failed; retrying');
  }
}

interface EncodedReport {
  offset: number;
  value: Buffer;
}

/** The longest prefix of `reports` within CHUNK_BYTES_MAX once encoded (at least one report). */
function takeChunk(reports: TxReport[]): EncodedReport[] {
  const chunk: EncodedReport[] = [];
  let bytes = 0;
  for (const r of reports) {
    const value = encodeTxReport(r);
    bytes += value.length;
    if (chunk.length > 0 && bytes > CHUNK_BYTES_MAX) break;
    chunk.push({ offset: r.offset, value });
  }
  return chunk;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

