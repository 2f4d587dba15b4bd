// The broker adapter interface: one small contract for every log implementation (embedded, memory, Kafka).
// Modelled on abstract-level: public methods validate and normalize, backends declare what they support,
// and one conformance suite (test/broker-adapters/conformance.ts) runs against every backend.

export interface LogRecordInput {
  /** Partitioning / compaction key (the tx idempotency key); null when the tx has none. */
  key: string | null;
  value: Buffer;
  headers?: Record<string, string>;
}

export interface LogRecord {
  offset: number;
  /** Timestamp the log assigned (ms since epoch); the materializer derives tx time from it. */
  timestampMs: number;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

export interface AppendResult {
  offset: number;
  timestampMs: number;
}

export interface BrokerCapabilities {
  /** Appends survive a process crash once acknowledged. */
  durable: boolean;
  /** Offsets may skip numbers (Kafka control records); readers must not assume contiguity. */
  offsetGaps: boolean;
  /** Output topics (`changes`, view changelogs) are real and consumable by other clients. */
  outputTopics: boolean;
  /** Several processes may share one log (replicas). */
  shared: boolean;
}

/**
 * Called by a tail with `endOffset` once every offset below it has been read, and only after the consumer
 * of the tail has finished with the last batch yielded (it is called from inside the generator when the
 * consumer asks for more): a materializer that writes each batch before asking for the next knows that
 * everything below `endOffset` is durable.
 */
export type CaughtUpListener = (endOffset: number) => void;

/** Raised for operating errors of the log (unavailable broker, full disk); the API maps it to 503. */
export class LogUnavailableError extends Error {
  readonly retriable = true;
  constructor(message: string, readonly retryAfterSeconds = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogUnavailableError';
  }
}

export interface BrokerAdapter {
  readonly name: string;
  readonly supports: BrokerCapabilities;

  open(): Promise<void>;
  close(): Promise<void>;

  /** Names of the graphs whose logs exist, sorted. */
  listGraphs(): Promise<string[]>;
  /** Creates the graph's log if missing (idempotent). */
  ensureGraph(graph: string): Promise<void>;
  hasGraph(graph: string): Promise<boolean>;

  /**
   * Appends records in order and resolves once they are durable, with their offsets.
   * Concurrent calls may share one fsync. Rejects with LogUnavailableError on operating failure.
   */
  append(graph: string, records: LogRecordInput[]): Promise<AppendResult[]>;

  /** The offset the next append will get (so the latest record is `endOffset - 1`). */
  endOffset(graph: string): Promise<number>;

  /** Reads up to `maxRecords` records starting at `fromOffset` (inclusive); fewer at the end of the log. */
  read(graph: string, fromOffset: number, maxRecords: number): Promise<LogRecord[]>;

  /**
   * Follows the log from `fromOffset`: yields batches of available records, then waits for new ones.
   * Ends when `signal` aborts. Batches are non-empty and in offset order.
   * Adapters with offset gaps (`supports.offsetGaps`) also report, through `onCaughtUp`, each time the
   * tail has read up to the log's end: records may be missing just below the end (Kafka transaction
   * markers), so the last record's offset alone cannot tell a reader that it has caught up.
   */
  tail(graph: string, fromOffset: number, signal: AbortSignal, onCaughtUp?: CaughtUpListener): AsyncIterable<LogRecord[]>;

  /** Produces to an output topic (derived changes, view changelogs). A no-op where unsupported. */
  produce(topic: string, records: LogRecordInput[]): Promise<void>;
}
