// The Kafka adapter's write path: one ordered queue of appends, sent as few produce requests as possible
// (group commit), acks=all, idempotent where the broker allows it, and every append bounded in time.

import type { Kafka, Producer, RecordMetadata } from 'kafkajs';
import { StrataError } from '../core/errors.js';
import type { AdapterLogger } from './embedded.js';
import { LogUnavailableError, type AppendResult } from './types.js';

/** Bytes of one produce request. Appends are grouped up to this; one append is never split. */
export const SEND_BYTES_MAX = 8 * 1024 * 1024;

/**
 * Retries inside one kafkajs send (≈2.5 s of backoff at most). Short on purpose: the append deadline is
 * the real bound, and a send that gives up is followed by a fresh producer (see resetProducer).
 */
const SEND_RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 };

export interface QueuedMessage {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

export interface ProduceQueueOptions {
  kafka: Kafka;
  /** true: idempotent or fail; false: never; 'auto': idempotent unless the broker refuses InitProducerId. */
  idempotent: boolean | 'auto';
  /** 'auto' after a refusal that may have been transient: first wait before trying idempotence again (doubles to 10 min). */
  idempotenceReprobeMs?: number;
  requestTimeoutMs: number;
  retryAfterSeconds: number;
  logger: AdapterLogger;
}

interface Entry {
  topic: string;
  messages: QueuedMessage[];
  bytes: number;
  deadline: number;
  settled: boolean;
  timer: NodeJS.Timeout;
  resolve(results: AppendResult[]): void;
  reject(err: unknown): void;
}

const CONNECTION_ERROR_NAMES = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSTimeout']);

/** The errors along a kafkajs error's cause chain (retry wrappers hide the real one). */
function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && chain.length < 8; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

/**
 * InitProducerId refusals that say the cluster will not give this client a producer id at all. Anything
 * else (a controller election, a broker missing from stale metadata, retries exhausted) may pass, so
 * 'auto' produces without idempotence meanwhile and keeps trying to get it back.
 */
const IDEMPOTENCE_REFUSED_TYPES = new Set(['UNSUPPORTED_VERSION', 'CLUSTER_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'INVALID_REQUEST']);

const REPROBE_MS_MAX = 10 * 60_000;

export function isConnectionFailure(err: unknown): boolean {
  return causeChain(err).some((e) => CONNECTION_ERROR_NAMES.has(String((e as { name?: unknown }).name)) || (e as { code?: unknown }).code === 'ECONNREFUSED');
}

function protocolType(err: unknown): string | undefined {
  for (const e of causeChain(err)) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Operating failures become LogUnavailableError (503); a record the broker finds too large is a 413. */
export function toAppendError(err: unknown, what: string, retryAfterSeconds: number): unknown {
  if (err instanceof LogUnavailableError || err instanceof StrataError) return err;
  const type = protocolType(err);
  if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') {
    return new StrataError('payload_too_large', `${what}: the broker refused the records as too large (${type}); raise the topic's max.message.bytes`);
  }
  return new LogUnavailableError(`${what} failed: ${messageOf(err)}`, retryAfterSeconds, { cause: err });
}

/** Resolves with the promise's value, or rejects with LogUnavailableError once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, retryAfterSeconds: number): Promise<T> {
  promise.catch(() => undefined); // the loser of the race must not become an unhandled rejection
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LogUnavailableError(`${what} timed out after ${ms} ms (is the Kafka cluster reachable?)`, retryAfterSeconds)), Math.max(0, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class ProduceQueue {
  /** Whether the current producer is idempotent; null until one has connected. */
  idempotent: boolean | null = null;
  private queue: Entry[] = [];
  private draining: Promise<void> | null = null;
  private producer: Promise<Producer> | null = null;
  private idempotenceRefused = false;
  /** 'auto' after a refusal that may pass: a background attempt at an idempotent producer, and its result. */
  private reprobeMs: number;
  private reprobeTimer: NodeJS.Timeout | null = null;
  private upgrade: Producer | null = null;
  private reprobing = false;
  private lastTimestampMs = 0;
  private closed = false;

  constructor(private readonly options: ProduceQueueOptions) {
    this.reprobeMs = options.idempotenceReprobeMs ?? 30_000;
  }

  /** Queues messages for `topic`; resolves with their offsets once acknowledged by all in-sync replicas. */
  enqueue(topic: string, messages: QueuedMessage[], bytes: number, deadline: number): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new LogUnavailableError('the Kafka adapter is closed', this.options.retryAfterSeconds));
    return new Promise((resolve, reject) => {
      const entry: Entry = {
        topic, messages, bytes, deadline, settled: false, resolve, reject,
        timer: setTimeout(() => this.expire(entry), Math.max(0, deadline - Date.now())),
      };
      this.queue.push(entry);
      this.draining ??= this.drain();
    });
  }

  /** Fails what is still queued, waits (bounded) for the send in flight, then drops the producer. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.reprobeTimer) clearTimeout(this.reprobeTimer);
    this.upgrade?.disconnect().catch(() => undefined);
    this.upgrade = null;
    for (const entry of this.queue.splice(0)) this.settle(entry, new LogUnavailableError('the Kafka adapter closed before this append was sent', this.options.retryAfterSeconds));
    if (this.draining) await withTimeout(this.draining, timeoutMs, 'waiting for the send in flight', 1).catch(() => undefined);
    const producer = this.producer;
    this.producer = null;
    if (producer) await withTimeout(producer.then((p) => p.disconnect()), timeoutMs, 'disconnecting the producer', 1).catch(() => undefined);
  }

  /** A queued append past its deadline was never sent, so it is certainly not on the log. */
  private expire(entry: Entry): void {
    const queued = this.queue.indexOf(entry);
    if (queued >= 0) this.queue.splice(queued, 1);
    const state = queued >= 0 ? 'was never sent' : 'may or may not have been written; retry with the same tx id';
    this.settle(entry, new LogUnavailableError(`append to ${entry.topic} timed out (the Kafka cluster is unavailable); it ${state}`, this.options.retryAfterSeconds));
  }

  private settle(entry: Entry, outcome: AppendResult[] | unknown): void {
    if (entry.settled) return;
    entry.settled = true;
    clearTimeout(entry.timer);
    if (Array.isArray(outcome)) entry.resolve(outcome as AppendResult[]);
    else entry.reject(outcome);
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        this.takeUpgrade();
        await this.send(this.takeBatch());
      }
    } finally {
      this.draining = null;
    }
  }

  /** Takes queued appends in order up to SEND_BYTES_MAX (always at least one). */
  private takeBatch(): Entry[] {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && (count === 0 || bytes + this.queue[count]!.bytes <= SEND_BYTES_MAX)) bytes += this.queue[count++]!.bytes;
    return this.queue.splice(0, count);
  }

  private async send(batch: Entry[]): Promise<void> {
    const live = batch.filter((e) => !e.settled);
    if (live.length === 0) return;
    // Wait as long as the most patient caller; the others are failed by their own timers meanwhile.
    const deadline = Math.max(...live.map((e) => e.deadline));
    const timestampMs = (this.lastTimestampMs = Math.max(this.lastTimestampMs, Date.now()));
    const topicMessages = groupByTopic(live, timestampMs);
    try {
      const sent = (async () => (await this.connected()).sendBatch({ acks: -1, timeout: this.options.requestTimeoutMs, topicMessages }))();
      const metadata = await withTimeout(sent, deadline - Date.now(), 'producing to Kafka', this.options.retryAfterSeconds);
      this.settleSent(live, metadata, timestampMs);
    } catch (err) {
      // A failed or abandoned send leaves the producer's sequence numbers in doubt; a fresh producer
      // (a new producer id) keeps an idempotent broker from mistaking new records for retried ones.
      this.resetProducer();
      const failure = toAppendError(err, 'producing to Kafka', this.options.retryAfterSeconds);
      for (const entry of live) this.settle(entry, failure);
      this.options.logger.warn({ err: messageOf(err), appends: live.length }, 'kafka produce failed');
    }
  }

  private settleSent(entries: Entry[], metadata: RecordMetadata[], timestampMs: number): void {
    const next = new Map<string, number>();
    for (const m of metadata) if (m.partition === 0 && m.baseOffset !== undefined) next.set(m.topicName, Number(m.baseOffset));
    for (const entry of entries) {
      const base = next.get(entry.topic);
      if (base === undefined) {
        this.settle(entry, new LogUnavailableError(`the broker sent no offsets for ${entry.topic}`, this.options.retryAfterSeconds));
        continue;
      }
      next.set(entry.topic, base + entry.messages.length);
      const results = entry.messages.map((_, i) => ({ offset: base + i, timestampMs }));
      if (entry.settled) this.options.logger.warn({ topic: entry.topic, offset: base }, 'an append that timed out was written after all');
      this.settle(entry, results);
    }
  }

  private connected(): Promise<Producer> {
    if (!this.producer) {
      const pending = this.connectProducer();
      this.producer = pending;
      pending.catch(() => {
        if (this.producer === pending) this.producer = null;
      });
    }
    return this.producer;
  }

  private resetProducer(): void {
    const old = this.producer;
    this.producer = null;
    old?.then((p) => p.disconnect()).catch(() => undefined);
  }

  private async connectProducer(): Promise<Producer> {
    // While the background attempts run, a reconnect goes straight to a plain producer.
    if (this.options.idempotent !== false && !this.idempotenceRefused && !this.reprobing) {
      const producer = this.createProducer(true);
      try {
        await producer.connect();
        this.idempotent = true;
        return producer;
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        // An unreachable cluster says nothing about idempotence support: fail now, try again later.
        if (this.options.idempotent === true || isConnectionFailure(err)) throw err;
        const final = IDEMPOTENCE_REFUSED_TYPES.has(protocolType(err) ?? '');
        this.idempotenceRefused = final;
        this.options.logger.warn(
          { err: messageOf(err), retryInMs: final ? null : this.reprobeMs },
          'the Kafka cluster refused an idempotent producer (InitProducerId failed); producing without idempotence, so a retried send may write a record twice (txs with an id are still applied once)' +
            (final ? '' : '; trying again in the background'),
        );
        if (!final) {
          this.reprobing = true;
          this.scheduleReprobe();
        }
      }
    }
    const producer = this.createProducer(false);
    await producer.connect();
    this.idempotent = false;
    return producer;
  }

  /**
   * After a refusal that may pass, keeps trying to connect an idempotent producer off the send path; one
   * that connects replaces the plain producer between two sends (takeUpgrade), so order is kept.
   */
  private scheduleReprobe(): void {
    if (this.reprobeTimer || this.closed) return;
    this.reprobeTimer = setTimeout(() => {
      this.reprobeTimer = null;
      void this.reprobe();
    }, this.reprobeMs);
    this.reprobeTimer.unref();
  }

  private async reprobe(): Promise<void> {
    if (this.closed || this.idempotent !== false || this.upgrade) return;
    const producer = this.createProducer(true);
    try {
      await producer.connect();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      if (IDEMPOTENCE_REFUSED_TYPES.has(protocolType(err) ?? '')) {
        this.idempotenceRefused = true;
        this.reprobing = false;
        this.options.logger.warn({ err: messageOf(err) }, 'the Kafka cluster refuses idempotent producers; producing without idempotence from now on');
        return;
      }
      this.reprobeMs = Math.min(REPROBE_MS_MAX, this.reprobeMs * 2);
      this.scheduleReprobe();
      return;
    }
    if (this.closed) {
      await producer.disconnect().catch(() => undefined);
      return;
    }
    this.upgrade = producer;
    if (!this.draining) this.takeUpgrade(); // nothing in flight; otherwise the drain loop swaps before its next send
  }

  /** Puts a connected idempotent producer in place of the plain one; called only between sends. */
  private takeUpgrade(): void {
    const upgrade = this.upgrade;
    if (!upgrade) return;
    this.upgrade = null;
    this.reprobing = false;
    const old = this.producer;
    this.producer = Promise.resolve(upgrade);
    this.idempotent = true;
    old?.then((p) => p.disconnect()).catch(() => undefined);
    this.options.logger.info({}, 'an idempotent producer connected; appends are idempotent again');
  }

  private createProducer(idempotent: boolean): Producer {
    return this.options.kafka.producer({
      idempotent,
      // One request in flight: a retried request can never overtake a later one, so log order is append
      // order. Grouping appends into one request (takeBatch) is what keeps throughput up.
      maxInFlightRequests: 1,
      // Topics are created or found by the adapter; a produce must never create one by accident.
      allowAutoTopicCreation: false,
      createPartitioner: () => () => 0,
      retry: SEND_RETRY,
    });
  }
}

/** One kafkajs topicMessages entry per topic, messages in queue order (offsets are assigned in that order). */
function groupByTopic(entries: Entry[], timestampMs: number): { topic: string; messages: { key: string | null; value: Buffer; headers: Record<string, string>; partition: number; timestamp: string }[] }[] {
  const byTopic = new Map<string, { key: string | null; value: Buffer; headers: Record<string, string>; partition: number; timestamp: string }[]>();
  for (const entry of entries) {
    const list = byTopic.get(entry.topic) ?? [];
    byTopic.set(entry.topic, list);
    for (const m of entry.messages) list.push({ key: m.key, value: m.value, headers: m.headers, partition: 0, timestamp: String(timestampMs) });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
