// The Kafka broker adapter (kafkajs): one single-partition topic per graph, `<prefix>.<graph>.tx`, written
// with acks=all (idempotent where the broker allows it) and read at exact offsets by plain Fetch requests.
// The materializer's stored offset is the only read position: no consumer group is involved at all.

import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type Admin, type LogEntry, type SASLOptions } from 'kafkajs';
import { StrataError } from '../core/errors.js';
import { GRAPH_NAME_PATTERN } from '../core/limits.js';
import {
  APPEND_QUEUE_BYTES_MAX, READ_BYTES_MAX, TAIL_BATCH_RECORDS_MAX, assertGraphName, assertOffset, encodeRecordInput, type AdapterLogger,
} from './embedded.js';
import { PartitionFetcher, createInternalCluster, isKafkaOperatingError, type FetchedPage } from './kafka-fetch.js';
import { ProduceQueue, SEND_BYTES_MAX, toAppendError, withTimeout, type QueuedMessage } from './kafka-produce.js';
import {
  LogUnavailableError, type AppendResult, type BrokerAdapter, type BrokerCapabilities, type CaughtUpListener, type LogRecord, type LogRecordInput,
} from './types.js';
import { sleep } from '../core/sleep.js';

export interface KafkaLogOptions {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  clientId?: string;
  /** Topics are `<topicPrefix>.<graph>.tx`; output topics `<topicPrefix>.<name>`. Default `strata`. */
  topicPrefix?: string;
  ssl?: boolean | ConnectionOptions;
  sasl?: SASLOptions;
  logger?: AdapterLogger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /**
   * Default 'auto': idempotent, falling back (with a warning) when the broker refuses InitProducerId, and
   * trying again in the background unless the refusal was final (authorization, protocol version).
   */
  idempotent?: boolean | 'auto';
  /** Bound of one append or admin call: past it the call rejects with LogUnavailableError. Default 5 s. */
  appendTimeoutMs?: number;
  /** Replication factor of the topics the adapter creates; -1 (default) = the broker's default. */
  replicationFactor?: number;
  /**
   * Broker-side long poll of a tail's fetch (default 500 ms). Kafka answers as soon as data arrives, so
   * this only sets the idle request rate; brokers that hold the fetch for the full wait (the librdkafka
   * mock) also add up to this much delivery latency for records appended by other processes.
   */
  tailWaitMs?: number;
}

/** Topic config of the logs the adapter creates (DESIGN §8): delete policy, infinite retention. */
const LOG_TOPIC_CONFIG = [
  { name: 'cleanup.policy', value: 'delete' },
  { name: 'retention.ms', value: '-1' },
  { name: 'retention.bytes', value: '-1' },
  // The producer's timestamp is the record's time; tx time is derived from it deterministically.
  { name: 'message.timestamp.type', value: 'CreateTime' },
  // One append is one record batch; a 1 MiB tx plus overhead exceeds Kafka's 1 MiB default.
  { name: 'max.message.bytes', value: String(2 * SEND_BYTES_MAX) },
];
/** Output topics are derived (re-producible from the tx index), so they keep the broker's retention. */
const OUTPUT_TOPIC_CONFIG = [LOG_TOPIC_CONFIG[0]!, LOG_TOPIC_CONFIG[3]!, LOG_TOPIC_CONFIG[4]!];

const APPEND_TIMEOUT_MS_DEFAULT = 5_000;
const RETRY_AFTER_SECONDS = 2;
const TAIL_WAIT_MS_DEFAULT = 500;
/** How often a tail of a graph whose topic does not exist yet looks for it. */
const TOPIC_POLL_MS = 250;
const TAIL_BACKOFF_MS_MAX = 2_000;
/** A failing tail logs at most one warning per interval. */
const TAIL_WARN_INTERVAL_MS = 30_000;
const TOPIC_PREFIX_PATTERN = /^[a-zA-Z0-9._-]{1,100}$/;
const OUTPUT_TOPIC_PATTERN = /^[a-z0-9][a-z0-9._-]{0,139}$/;

const NO_LOG: AdapterLogger = { info() {}, warn() {} };

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An acknowledged offset is gone from the log (retention or truncation): the fold cannot continue. */
export class LogTruncatedError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'LogTruncatedError';
  }
}


/** Resolves with the promise's value, or with null as soon as the signal aborts. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | null> {
  promise.catch(() => undefined);
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * kafkajs errors → the adapter's logger, as warnings. Connection-level chatter (one line per request or
 * reconnect attempt during an outage) is left out: the adapter reports failures itself, throttled.
 */
const QUIET_KAFKAJS_NAMESPACES = new Set(['Connection', 'BrokerPool']);

function kafkajsLogCreator(logger: AdapterLogger) {
  return () => (entry: LogEntry): void => {
    if (QUIET_KAFKAJS_NAMESPACES.has(entry.namespace) || entry.level > logLevel.ERROR) return;
    const { message, ...fields } = entry.log;
    logger.warn({ kafkajs: entry.namespace, ...fields }, message);
  };
}

export class KafkaLogAdapter implements BrokerAdapter {
  readonly name = 'kafka';
  readonly supports: BrokerCapabilities = Object.freeze({ durable: true, offsetGaps: true, outputTopics: true, shared: true });
  readonly topicPrefix: string;

  private readonly kafka: Kafka;
  private readonly logger: AdapterLogger;
  private readonly timeoutMs: number;
  private readonly options: KafkaLogOptions;
  private readonly graphTopicPattern: RegExp;
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  private closing = new AbortController();
  private admin: Admin | null = null;
  private fetcher: PartitionFetcher | null = null;
  private autoCreator: PartitionFetcher | null = null;
  private producer: ProduceQueue | null = null;
  /** Topics known to exist: topics are never deleted by Strata, so this only grows. */
  private readonly knownTopics = new Set<string>();
  /** Topics ensured by this process (found or created, partition count checked). */
  private readonly ensured = new Set<string>();
  private readonly ensuring = new Map<string, Promise<void>>();
  /** Appends accepted before close(): close lets them finish (each is bounded by its own deadline). */
  private readonly inflight = new Set<Promise<unknown>>();
  /** Last end offset seen per topic: what endOffset answers while the cluster is unreachable. */
  private readonly knownEnds = new Map<string, number>();

  constructor(options: KafkaLogOptions) {
    if (!Array.isArray(options?.brokers) || options.brokers.length === 0) throw new Error('KafkaLogAdapter needs at least one broker (host:port)');
    const prefix = options.topicPrefix ?? 'strata';
    if (!TOPIC_PREFIX_PATTERN.test(prefix)) throw new Error(`invalid topic prefix ${JSON.stringify(prefix)}: must match ${TOPIC_PREFIX_PATTERN}`);
    this.options = options;
    this.topicPrefix = prefix;
    this.graphTopicPattern = new RegExp(`^${escapeRegExp(prefix)}\\.(.+)\\.tx$`);
    this.logger = options.logger ?? NO_LOG;
    this.timeoutMs = options.appendTimeoutMs ?? APPEND_TIMEOUT_MS_DEFAULT;
    this.kafka = new Kafka({
      brokers: options.brokers,
      clientId: options.clientId ?? 'strata',
      ssl: options.ssl,
      sasl: options.sasl,
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
      logLevel: logLevel.ERROR,
      logCreator: kafkajsLogCreator(this.logger),
    });
  }

  /** Whether appends currently go through an idempotent producer (null before the first append). */
  get idempotent(): boolean | null {
    return this.producer?.idempotent ?? null;
  }

  /** The log topic of a graph. */
  topicOf(graph: string): string {
    return `${this.topicPrefix}.${graph}.tx`;
  }

  async open(): Promise<void> {
    if (this.state !== 'new' && this.state !== 'closed') throw new Error(`cannot open a Kafka adapter that is ${this.state}`);
    this.closing = new AbortController();
    this.admin = this.kafka.admin();
    this.fetcher = new PartitionFetcher(createInternalCluster(this.kafka, false), READ_BYTES_MAX);
    this.producer = new ProduceQueue({
      kafka: this.kafka,
      idempotent: this.options.idempotent ?? 'auto',
      requestTimeoutMs: this.options.requestTimeoutMs ?? 30_000,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
      logger: this.logger,
    });
    try {
      await this.bounded(this.admin.connect(), 'connecting to Kafka');
      await this.bounded(this.fetcher.connect(), 'connecting to Kafka');
    } catch (err) {
      await this.disconnectAll();
      this.state = 'closed';
      throw err;
    }
    this.state = 'open';
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.closing.abort();
    await Promise.allSettled([...this.inflight]);
    await this.disconnectAll();
    this.state = 'closed';
  }

  async listGraphs(): Promise<string[]> {
    this.assertOpen();
    const graphs: string[] = [];
    for (const topic of await this.listTopics()) {
      const graph = this.graphTopicPattern.exec(topic)?.[1];
      if (graph !== undefined && GRAPH_NAME_PATTERN.test(graph)) graphs.push(graph);
    }
    return graphs.sort();
  }

  async ensureGraph(graph: string): Promise<void> {
    this.assertOpen();
    assertGraphName(graph);
    await this.bounded(this.ensureTopic(this.topicOf(graph), LOG_TOPIC_CONFIG), `creating the log of graph "${graph}"`);
  }

  async hasGraph(graph: string): Promise<boolean> {
    this.assertOpen();
    assertGraphName(graph);
    return this.topicExists(this.topicOf(graph));
  }

  async append(graph: string, records: LogRecordInput[]): Promise<AppendResult[]> {
    this.assertOpen();
    assertGraphName(graph);
    const { messages, bytes } = toMessages(records);
    if (messages.length === 0) return [];
    return this.send(this.topicOf(graph), messages, bytes, LOG_TOPIC_CONFIG);
  }

  async endOffset(graph: string): Promise<number> {
    this.assertOpen();
    assertGraphName(graph);
    const topic = this.topicOf(graph);
    try {
      if (!(await this.topicExists(topic))) return 0;
      const end = (await this.watermarks(topic)).high;
      this.noteEnd(topic, end);
      return end;
    } catch (err) {
      // Reads keep serving during an outage: the last end seen is a true lower bound of the log's end.
      const known = this.knownEnds.get(topic);
      if (err instanceof LogUnavailableError && known !== undefined) return known;
      throw err;
    }
  }

  async read(graph: string, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    this.assertOpen();
    assertGraphName(graph);
    assertOffset(fromOffset, 'fromOffset');
    assertOffset(maxRecords, 'maxRecords');
    const topic = this.topicOf(graph);
    if (maxRecords === 0 || !(await this.topicExists(topic))) return [];
    for (let next = fromOffset; ; ) {
      const page = await this.bounded(this.fetchPage(this.fetcher!, topic, next, 0), `reading ${topic}`);
      // A page of control records only (transaction markers) moves the offset without records: go on.
      if (page.records.length > 0 || page.nextOffset === next || page.nextOffset >= page.highWatermark) return page.records.slice(0, maxRecords);
      next = page.nextOffset;
    }
  }

  tail(graph: string, fromOffset: number, signal: AbortSignal, onCaughtUp?: CaughtUpListener): AsyncIterable<LogRecord[]> {
    this.assertOpen();
    assertGraphName(graph);
    assertOffset(fromOffset, 'fromOffset');
    return this.follow(this.topicOf(graph), fromOffset, AbortSignal.any([signal, this.closing.signal]), onCaughtUp);
  }

  /** Produces to `<topicPrefix>.<topic>` (partition 0, created on first use), e.g. `orders.changes`. */
  async produce(topic: string, records: LogRecordInput[]): Promise<void> {
    this.assertOpen();
    if (typeof topic !== 'string' || !OUTPUT_TOPIC_PATTERN.test(topic)) throw new Error(`invalid output topic name ${JSON.stringify(topic)}`);
    const { messages, bytes } = toMessages(records);
    if (messages.length === 0) return;
    await this.send(`${this.topicPrefix}.${topic}`, messages, bytes, OUTPUT_TOPIC_CONFIG);
  }

  // ---------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`the Kafka log adapter is ${this.state}, not open`);
  }

  /** Bounds a call to the cluster in time and maps its failure to LogUnavailableError (or 413). */
  private async bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    try {
      return await withTimeout(promise, this.timeoutMs, what, RETRY_AFTER_SECONDS);
    } catch (err) {
      if (!isKafkaOperatingError(err)) throw err;
      throw toAppendError(err, what, RETRY_AFTER_SECONDS);
    }
  }

  private send(topic: string, messages: QueuedMessage[], bytes: number, config: typeof LOG_TOPIC_CONFIG): Promise<AppendResult[]> {
    const sending = this.sendOnce(topic, messages, bytes, config);
    this.inflight.add(sending);
    sending.catch(() => undefined).finally(() => this.inflight.delete(sending));
    return sending;
  }

  /** The whole append (topic lookup or creation, then the send) shares one deadline. */
  private async sendOnce(topic: string, messages: QueuedMessage[], bytes: number, config: typeof LOG_TOPIC_CONFIG): Promise<AppendResult[]> {
    const deadline = Date.now() + this.timeoutMs;
    await this.bounded(this.ensureTopic(topic, config), `appending to ${topic}`);
    if (Date.now() >= deadline) throw new LogUnavailableError(`appending to ${topic} timed out while looking up the topic`, RETRY_AFTER_SECONDS);
    const results = await this.producer!.enqueue(topic, messages, bytes, deadline);
    if (results.length > 0) this.noteEnd(topic, results[results.length - 1]!.offset + 1);
    return results;
  }

  private noteEnd(topic: string, end: number): void {
    this.knownEnds.set(topic, Math.max(end, this.knownEnds.get(topic) ?? 0));
  }

  private async listTopics(): Promise<string[]> {
    const topics = await this.bounded(this.admin!.listTopics(), 'listing Kafka topics');
    for (const topic of topics) if (this.graphTopicPattern.test(topic)) this.knownTopics.add(topic);
    return topics;
  }

  /** Existence without side effects: a metadata request for one topic would auto-create it on some brokers. */
  private async topicExists(topic: string): Promise<boolean> {
    if (this.knownTopics.has(topic)) return true;
    if ((await this.listTopics()).includes(topic)) this.knownTopics.add(topic);
    return this.knownTopics.has(topic);
  }

  private async watermarks(topic: string): Promise<{ low: number; high: number }> {
    const offsets = await this.bounded(this.admin!.fetchTopicOffsets(topic), `fetching the offsets of ${topic}`);
    const p0 = offsets.find((o) => o.partition === 0);
    if (!p0) throw new LogUnavailableError(`${topic} has no partition 0 yet`, RETRY_AFTER_SECONDS);
    return { low: Number(p0.low), high: Number(p0.high) };
  }

  /** Creates the topic once per process (concurrent callers share the attempt); failures are retried later. */
  private ensureTopic(topic: string, config: typeof LOG_TOPIC_CONFIG): Promise<void> {
    if (this.ensured.has(topic)) return Promise.resolve();
    let pending = this.ensuring.get(topic);
    if (!pending) {
      pending = this.createTopic(topic, config)
        .then(() => void this.ensured.add(topic))
        .finally(() => this.ensuring.delete(topic));
      this.ensuring.set(topic, pending);
    }
    return pending;
  }

  private async createTopic(topic: string, config: typeof LOG_TOPIC_CONFIG): Promise<void> {
    if (await this.topicExists(topic)) return this.checkPartitions(topic);
    let refusal: unknown;
    try {
      await this.admin!.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: this.options.replicationFactor ?? -1, configEntries: config }],
        waitForLeaders: true,
        timeout: this.timeoutMs,
      });
      this.knownTopics.add(topic);
      this.logger.info({ topic }, 'created kafka topic');
      return;
    } catch (err) {
      refusal = err;
    }
    // Fallback: another replica may have created it meanwhile, or the broker auto-creates topics.
    if (await this.topicExists(topic)) return this.checkPartitions(topic);
    await this.autoCreate(topic, refusal);
  }

  /** Asks for the topic's metadata with auto-creation allowed; works where auto.create.topics.enable is on. */
  private async autoCreate(topic: string, refusal: unknown): Promise<void> {
    try {
      this.autoCreator ??= new PartitionFetcher(createInternalCluster(this.kafka, true), READ_BYTES_MAX);
      if ((await this.autoCreator.partitionCount(topic)) === 0) throw new Error('the broker did not create it');
    } catch (err) {
      throw new LogUnavailableError(
        `Kafka topic ${topic} does not exist and could not be created (createTopics: ${messageOf(refusal)}; auto-creation: ${messageOf(err)}). ` +
          'Create it with 1 partition, cleanup.policy=delete, retention.ms=-1.',
        RETRY_AFTER_SECONDS,
        { cause: refusal },
      );
    }
    this.logger.warn({ topic, refusal: messageOf(refusal) }, 'the Kafka cluster refused createTopics; using the auto-created topic');
    this.knownTopics.add(topic);
    await this.checkPartitions(topic);
  }

  private async checkPartitions(topic: string): Promise<void> {
    const partitions = await this.fetcher!.partitionCount(topic);
    if (partitions > 1) {
      this.logger.warn({ topic, partitions }, 'the topic has more than one partition: Strata reads and writes partition 0 only, so producers must write there');
    }
  }

  private async fetchPage(fetcher: PartitionFetcher, topic: string, fromOffset: number, maxWaitMs: number): Promise<FetchedPage> {
    const page = await fetcher.fetch(topic, fromOffset, maxWaitMs);
    if (page.highWatermark >= 0) this.noteEnd(topic, page.highWatermark);
    if (!page.outOfRange) return page;
    const { low, high } = await this.watermarks(topic);
    if (fromOffset < low) throw new LogTruncatedError(`offset ${fromOffset} of ${topic} is gone (the log now starts at ${low}): was retention.ms changed?`);
    // Past the end: nothing to read (a reader that is ahead of the log sees `outOfRange` and waits).
    return { records: [], nextOffset: fromOffset, highWatermark: high, outOfRange: true };
  }

  /**
   * The tail loop: long-poll fetches from `next`; operating errors are retried with backoff, forever.
   * Each tail has its own connections: a broker answers one request per connection at a time, so tails
   * sharing one would wait behind each other's long polls.
   */
  private async *follow(topic: string, fromOffset: number, stop: AbortSignal, onCaughtUp?: CaughtUpListener): AsyncGenerator<LogRecord[]> {
    const health = new TailHealth(topic, this.logger);
    const fetcher = new PartitionFetcher(createInternalCluster(this.kafka, false), READ_BYTES_MAX);
    try {
      yield* this.followWith(fetcher, health, topic, fromOffset, stop, onCaughtUp);
    } finally {
      await withTimeout(fetcher.disconnect(), this.timeoutMs, 'disconnecting a tail', 1).catch(() => undefined);
    }
  }

  private async *followWith(
    fetcher: PartitionFetcher, health: TailHealth, topic: string, fromOffset: number, stop: AbortSignal, onCaughtUp?: CaughtUpListener,
  ): AsyncGenerator<LogRecord[]> {
    let next = fromOffset;
    while (!stop.aborted) {
      try {
        const page = await unlessAborted(this.nextTailPage(fetcher, topic, next, stop), stop);
        if (page === null || stop.aborted) return;
        if (page.outOfRange) {
          // Only a log that lost records (a recreated topic) ends before a reader's position.
          await sleep(health.failed(new Error(`offset ${next} is past the end of the log (${page.highWatermark}); was the topic recreated?`)), stop);
          continue;
        }
        health.succeeded();
        for (let i = 0; i < page.records.length; i += TAIL_BATCH_RECORDS_MAX) {
          yield page.records.slice(i, i + TAIL_BATCH_RECORDS_MAX);
          if (stop.aborted) return;
        }
        next = Math.max(next, page.nextOffset);
        // Transaction markers take offsets but are never delivered, so the last record a reader sees may
        // lie below `highWatermark - 1` for good: say explicitly that nothing readable is left below `next`.
        // (With a foreign transaction still open, a read-committed fetch stops short of the watermark.)
        if (page.highWatermark >= 0 && next >= page.highWatermark) onCaughtUp?.(next);
      } catch (err) {
        if (stop.aborted) return;
        if (!isRetriable(err)) throw err;
        await sleep(health.failed(err), stop);
      }
    }
  }

  private async nextTailPage(fetcher: PartitionFetcher, topic: string, next: number, stop: AbortSignal): Promise<FetchedPage | null> {
    if (!(await this.topicExists(topic))) {
      await sleep(TOPIC_POLL_MS, stop);
      return { records: [], nextOffset: next, highWatermark: -1, outOfRange: false };
    }
    return this.fetchPage(fetcher, topic, next, this.options.tailWaitMs ?? TAIL_WAIT_MS_DEFAULT);
  }

  private async disconnectAll(): Promise<void> {
    const steps: Promise<void>[] = [];
    if (this.producer) steps.push(this.producer.close(this.timeoutMs));
    for (const client of [this.admin, this.fetcher, this.autoCreator]) if (client) steps.push(withTimeout(client.disconnect(), this.timeoutMs, 'disconnecting', 1));
    await Promise.allSettled(steps);
    this.admin = null;
    this.fetcher = null;
    this.autoCreator = null;
  }
}

/** Validates inputs like every adapter (same record limit as the embedded log) and copies the values. */
function toMessages(records: LogRecordInput[]): { messages: QueuedMessage[]; bytes: number } {
  if (!Array.isArray(records)) throw new Error('append needs an array of records');
  const encoded = records.map(encodeRecordInput);
  const bytes = encoded.reduce((sum, r) => sum + r.bytes.length, 0);
  if (bytes > Math.min(SEND_BYTES_MAX, APPEND_QUEUE_BYTES_MAX)) {
    throw new StrataError('payload_too_large', `one append of ${bytes} bytes exceeds ${SEND_BYTES_MAX} (one Kafka record batch)`);
  }
  const messages = encoded.map((r) => ({ key: r.key, value: Buffer.from(r.bytes.subarray(r.valueStart)), headers: r.headers }));
  return { messages, bytes };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}


/** Operating errors (cluster down, leader moving) are retried by a tail; a truncated log or a bug is not. */
function isRetriable(err: unknown): boolean {
  if (err instanceof LogTruncatedError) return false;
  return err instanceof LogUnavailableError || isKafkaOperatingError(err);
}

/** Backoff and throttled logging of one tail: a long outage logs one line per interval, not per retry. */
class TailHealth {
  private failures = 0;
  private lastWarnMs = 0;

  constructor(private readonly topic: string, private readonly logger: AdapterLogger) {}

  /** Records a failure; returns how long to wait before the next attempt. */
  failed(err: unknown): number {
    this.failures++;
    const now = Date.now();
    if (now - this.lastWarnMs >= TAIL_WARN_INTERVAL_MS) {
      this.lastWarnMs = now;
      this.logger.warn({ topic: this.topic, err: messageOf(err), failures: this.failures }, 'kafka tail failing; retrying');
    }
    return Math.min(TAIL_BACKOFF_MS_MAX, 100 * 2 ** Math.min(this.failures - 1, 5));
  }

  succeeded(): void {
    if (this.failures > 0) this.logger.info({ topic: this.topic, failures: this.failures }, 'kafka tail recovered');
    this.failures = 0;
    this.lastWarnMs = 0;
  }
}
