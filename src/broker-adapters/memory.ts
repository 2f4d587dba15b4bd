// The in-memory broker adapter: the embedded log's semantics (dense offsets, non-decreasing timestamps,
// size limits, live tail) without a disk, for unit tests of the layers above. Nothing survives the process.

import { StrataError } from '../core/errors.js';
import {
  APPEND_QUEUE_BYTES_MAX,
  AppendWaiters,
  TAIL_BATCH_RECORDS_MAX,
  READ_BYTES_MAX,
  assertGraphName,
  assertOffset,
  encodeRecordInput,
  followLog,
  type FollowSource,
} from './embedded.js';
import type { AppendResult, BrokerAdapter, BrokerCapabilities, LogRecord, LogRecordInput } from './types.js';

export interface MemoryLogOptions {
  /** Clock for record timestamps (ms since epoch); injected for determinism in tests. */
  clock?: () => number;
}

interface MemoryLog {
  records: LogRecord[];
  lastTimestampMs: number;
}

/** Copies a record so no caller can change what another one reads (the embedded log reads fresh bytes). */
function copyRecord(record: LogRecord): LogRecord {
  return { ...record, value: Buffer.from(record.value), headers: { ...record.headers } };
}

export class MemoryLogAdapter implements BrokerAdapter {
  readonly name = 'memory';
  readonly supports: BrokerCapabilities = Object.freeze({ durable: false, offsetGaps: false, outputTopics: false, shared: false });

  private readonly clock: () => number;
  private state: 'new' | 'open' | 'closed' = 'new';
  private readonly logs = new Map<string, MemoryLog>();
  private readonly waiters = new AppendWaiters();

  constructor(options: MemoryLogOptions = {}) {
    this.clock = options.clock ?? Date.now;
  }

  async open(): Promise<void> {
    if (this.state === 'open') throw new Error('the memory log adapter is already open');
    this.state = 'open';
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closed';
    this.waiters.notifyAll();
  }

  async listGraphs(): Promise<string[]> {
    this.assertOpen();
    return [...this.logs.keys()].sort();
  }

  async ensureGraph(graph: string): Promise<void> {
    this.assertOpen();
    assertGraphName(graph);
    this.logFor(graph);
  }

  async hasGraph(graph: string): Promise<boolean> {
    this.assertOpen();
    assertGraphName(graph);
    return this.logs.has(graph);
  }

  async append(graph: string, records: LogRecordInput[]): Promise<AppendResult[]> {
    this.assertOpen();
    assertGraphName(graph);
    if (!Array.isArray(records)) throw new Error('append needs an array of records');
    // Encoding validates each record and enforces the same size limit as the embedded log.
    const encoded = records.map(encodeRecordInput);
    const bytes = encoded.reduce((sum, r) => sum + r.bytes.length, 0);
    if (bytes > APPEND_QUEUE_BYTES_MAX) throw new StrataError('payload_too_large', `one append of ${bytes} bytes exceeds ${APPEND_QUEUE_BYTES_MAX}`);
    if (encoded.length === 0) return [];
    const log = this.logFor(graph);
    // Stamp everything before storing anything, so a failing clock leaves the log unchanged.
    let timestampMs = log.lastTimestampMs;
    const stamped = encoded.map((r, i): LogRecord => {
      const now = this.clock();
      if (!Number.isFinite(now)) throw new Error(`the clock returned ${now}`);
      timestampMs = Math.max(timestampMs, Math.trunc(now));
      const value = Buffer.from(r.bytes.subarray(r.valueStart));
      return { offset: log.records.length + i, timestampMs, key: r.key, value, headers: r.headers };
    });
    log.records.push(...stamped);
    log.lastTimestampMs = timestampMs;
    this.waiters.notify(graph);
    return stamped.map((r) => ({ offset: r.offset, timestampMs: r.timestampMs }));
  }

  async endOffset(graph: string): Promise<number> {
    this.assertOpen();
    assertGraphName(graph);
    return this.logs.get(graph)?.records.length ?? 0;
  }

  async read(graph: string, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    this.assertOpen();
    assertGraphName(graph);
    assertOffset(fromOffset, 'fromOffset');
    assertOffset(maxRecords, 'maxRecords');
    const records = this.logs.get(graph)?.records ?? [];
    const out: LogRecord[] = [];
    let bytes = 0;
    // The same byte bound as the embedded log (always at least one record), so tests see short reads.
    for (let offset = fromOffset; offset < records.length && out.length < maxRecords; offset++) {
      const record = records[offset]!;
      if (out.length > 0 && bytes + record.value.length > READ_BYTES_MAX) break;
      bytes += record.value.length;
      out.push(copyRecord(record));
    }
    return out;
  }

  tail(graph: string, fromOffset: number, signal: AbortSignal): AsyncIterable<LogRecord[]> {
    this.assertOpen();
    assertGraphName(graph);
    assertOffset(fromOffset, 'fromOffset');
    const source: FollowSource = {
      read: (from) => this.read(graph, from, TAIL_BATCH_RECORDS_MAX),
      waitFor: (offset) => this.waiters.wait(graph, () => this.state !== 'open' || (this.logs.get(graph)?.records.length ?? 0) > offset, signal),
      isOpen: () => this.state === 'open',
    };
    return followLog(source, fromOffset, signal);
  }

  /** Output topics do not exist in memory mode (supports.outputTopics is false). */
  async produce(_topic: string, _records: LogRecordInput[]): Promise<void> {
    this.assertOpen();
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`the memory log adapter is ${this.state}, not open`);
  }

  private logFor(graph: string): MemoryLog {
    let log = this.logs.get(graph);
    if (!log) {
      log = { records: [], lastTimestampMs: 0 };
      this.logs.set(graph, log);
    }
    return log;
  }
}
