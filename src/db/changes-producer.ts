// Produces every tx report of every open graph to the output topic `<graph>.changes` (Kafka:
// `<prefix>.<graph>.changes`, DESIGN §5): Avro TxReport, key = offset in decimal, in offset order.
//
// Delivery is at least once, across restarts too (db/derived-topic.ts). The tx index is the buffer: a
// materializer 'report' event only wakes the pump, which reads the reports after the last produced
// offset back from the tx index. The last produced offset is kept in `<dataDir>/changes/<graph>.offset`.
// Consumers skip keys at or below the last offset they processed.

import type { AdapterLogger } from '../broker-adapters/embedded.js';
import type { BrokerAdapter } from '../broker-adapters/types.js';
import { encodeTxReport, txReportSchemaFingerprint } from '../codec/avro.js';
import { StrataError } from '../core/errors.js';
import type { TxReport } from '../core/types.js';
import { DerivedTopicProducer, type Pump } from './derived-topic.js';
import type { GraphHandle } from './graph.js';

/** Reports per produce call: one read of the tx index and one request to the broker. */
const CHUNK_REPORTS_MAX = 256;
/** Bytes per produce call, well under the Kafka adapter's record batch limit. */
const CHUNK_BYTES_MAX = 2 * 1024 * 1024;

export class ChangesProducer extends DerivedTopicProducer<Pump> {
  constructor(log: BrokerAdapter, dataDir: string, logger?: AdapterLogger) {
    super(log, dataDir, 'changes', logger, 'changes topic');
  }

  /** Starts producing a graph's reports, from the persisted offset (catch-up), then as they are folded. */
  attach(handle: GraphHandle): void {
    this.start({ handle, produced: -1, running: null, lastWarnMs: 0 }, (wake) => handle.materializer.on('report', wake));
  }

  protected target(pump: Pump): number {
    return pump.handle.durableOffset;
  }

  protected async produceChunk(pump: Pump, target: number): Promise<number | null> {
    const chunk = takeChunk(await pump.handle.reader.reports(pump.produced + 1, target, CHUNK_REPORTS_MAX));
    // With offset gaps a read may come back short of `target`: nothing lies in between.
    if (chunk.length === 0) return target;
    const records = chunk.map((r) => ({ key: String(r.offset), value: r.value, headers: { 'strata-schema': txReportSchemaFingerprint } }));
    const tooLarge = (err: unknown): boolean => {
      if (!(err instanceof StrataError && err.code === 'payload_too_large' && chunk.length === 1)) return false;
      // Retrying cannot help; stalling would stop every later report. Loud, and skipped.
      this.logger?.warn({ graph: pump.handle.name, offset: chunk[0]!.offset, err: err.message }, 'a tx report is too large for the changes topic; skipped');
      return true;
    };
    if (!(await this.produceRetrying(pump, `${pump.handle.name}.changes`, records, tooLarge))) return null;
    return chunk[chunk.length - 1]!.offset;
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

