// Reads partition 0 of a topic at an exact offset with plain Fetch requests: no consumer group, no rebalance.
// kafkajs 2.2.4 has no manual partition assignment (tulios/kafkajs#373), and a consumer group costs a ~3 s
// join per reader (group.initial.rebalance.delay.ms), which rules it out for `read` and for short tails.
// So this module drives kafkajs' internal Cluster and Broker objects. It is the only file that touches
// kafkajs internals; the exact dependency pin (package.json) keeps them stable, and a changed kafkajs
// fails loudly at construction instead of misbehaving.

import type { Kafka } from 'kafkajs';
import type { LogRecord } from './types.js';

/** Fetch isolation: aborted and open transactions of foreign transactional producers stay invisible. */
const READ_COMMITTED = 1;

/** The subset of kafkajs' internal Cluster (src/cluster/index.js) this module uses. */
interface InternalCluster {
  isConnected(): boolean;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number | null }[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: string }): Promise<InternalBroker>;
}

interface InternalBroker {
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: FetchedPartition[] }[] }>;
}

/** One partition of a Fetch response as kafkajs decodes it (src/protocol/requests/fetch/v11). */
interface FetchedPartition {
  partition: number;
  highWatermark: string;
  abortedTransactions?: { producerId: string; firstOffset: string }[];
  messages: FetchedMessage[];
}

interface FetchedMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[] | null | undefined>;
  isControlRecord: boolean;
  batchContext?: { producerId?: string; inTransaction?: boolean };
}

type ClusterFactory = (options: { allowAutoTopicCreation: boolean; metadataMaxAge?: number }) => InternalCluster;

export interface FetchedPage {
  /** Deliverable records at or after the requested offset, in order (control and aborted records removed). */
  records: LogRecord[];
  /** Where the next fetch starts: past every record seen, including control records (offset gaps). */
  nextOffset: number;
  highWatermark: number;
  /** The broker answered OFFSET_OUT_OF_RANGE: the offset is past the end, or below the log start. */
  outOfRange: boolean;
}

/** A condition worth retrying after a metadata refresh (no leader known yet, leader moved). */
export class FetchRetriableError extends Error {
  readonly retriable = true;
  constructor(message: string) {
    super(message);
    this.name = 'FetchRetriableError';
  }
}

/** Builds a kafkajs internal Cluster with the client's own connection settings (TLS, SASL, timeouts). */
export function createInternalCluster(kafka: Kafka, allowAutoTopicCreation: boolean): InternalCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== 'function') {
    throw new Error('kafkajs internals changed (no private cluster factory): the Kafka adapter needs kafkajs 2.2.4 exactly');
  }
  return (factory as ClusterFactory)({ allowAutoTopicCreation });
}

/** Errors after which the cached leader may be wrong: refresh metadata before the next fetch. */
const STALE_METADATA_TYPES = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH']);

/** Attempts of a metadata lookup: a cluster object connects to its brokers lazily, and races show up as
 * "Broker not connected" on the first request to a broker. */
const METADATA_ATTEMPTS = 3;

export class PartitionFetcher {
  private stale = false;

  constructor(private readonly cluster: InternalCluster, private readonly partitionBytesMax: number) {}

  connect(): Promise<void> {
    return this.cluster.connect();
  }

  disconnect(): Promise<void> {
    return this.cluster.disconnect();
  }

  /** Partition count as the cluster metadata reports it; retries a connection race of a fresh cluster. */
  async partitionCount(topic: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.cluster.isConnected()) await this.cluster.connect();
        await this.cluster.addTargetTopic(topic);
        return this.cluster.findTopicPartitionMetadata(topic).length;
      } catch (err) {
        if (attempt >= METADATA_ATTEMPTS || !isConnectionError(err)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  /** One Fetch of partition 0 from `fromOffset`; waits up to `maxWaitMs` on the broker when nothing is there. */
  async fetch(topic: string, fromOffset: number, maxWaitMs: number): Promise<FetchedPage> {
    try {
      const broker = await this.leader(topic);
      const response = await broker.fetch({
        isolationLevel: READ_COMMITTED,
        maxWaitTime: maxWaitMs,
        minBytes: 1,
        maxBytes: this.partitionBytesMax,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: String(fromOffset), maxBytes: this.partitionBytesMax }] }],
      });
      const partition = response.responses.find((r) => r.topicName === topic)?.partitions.find((p) => p.partition === 0);
      if (!partition) throw new FetchRetriableError(`the fetch response for ${topic} has no partition 0`);
      return toPage(partition, fromOffset);
    } catch (err) {
      const type = (err as { type?: unknown }).type;
      if (type === 'OFFSET_OUT_OF_RANGE') return { records: [], nextOffset: fromOffset, highWatermark: -1, outOfRange: true };
      if (typeof type !== 'string' || STALE_METADATA_TYPES.has(type) || isConnectionError(err)) this.stale = true;
      throw err;
    }
  }

  private async leader(topic: string): Promise<InternalBroker> {
    if (!this.cluster.isConnected()) await this.cluster.connect();
    if (this.stale) {
      this.stale = false;
      await this.cluster.refreshMetadata();
    }
    await this.cluster.addTargetTopic(topic);
    await this.cluster.refreshMetadataIfNecessary();
    const leaders = this.cluster.findLeaderForPartitions(topic, [0]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) {
      this.stale = true;
      throw new FetchRetriableError(`no leader is known for ${topic} partition 0`);
    }
    return this.cluster.findBroker({ nodeId });
  }
}

/** kafkajs throws a plain Error with this message when a request reaches a broker object not yet connected. */
const NOT_CONNECTED_MESSAGE = 'Broker not connected';

function isConnectionError(err: unknown): boolean {
  const name = (err as { name?: unknown }).name;
  if ((err as { message?: unknown }).message === NOT_CONNECTED_MESSAGE) return true;
  return typeof name === 'string' && (name.startsWith('KafkaJSConnection') || name === 'KafkaJSBrokerNotFound' || name === 'KafkaJSRequestTimeoutError');
}

/** An error of the cluster or of kafkajs (as opposed to a bug): worth a retry, reported as unavailability. */
export function isKafkaOperatingError(err: unknown): boolean {
  const name = (err as { name?: unknown })?.name;
  return err instanceof FetchRetriableError || isConnectionError(err) || (typeof name === 'string' && name.startsWith('KafkaJS'));
}

/** Turns a decoded partition into deliverable records, the next fetch offset and the high watermark. */
function toPage(partition: FetchedPartition, fromOffset: number): FetchedPage {
  const aborted = new AbortedTransactions(partition.abortedTransactions ?? []);
  const records: LogRecord[] = [];
  let nextOffset = fromOffset;
  for (const message of partition.messages) {
    const offset = Number(message.offset);
    // A fetch returns whole record batches, which may start before the requested offset.
    if (offset < fromOffset) continue;
    nextOffset = offset + 1;
    if (aborted.skips(message, offset)) continue;
    records.push(toLogRecord(message, offset));
  }
  return { records, nextOffset, highWatermark: Number(partition.highWatermark), outOfRange: false };
}

/**
 * Read-committed filtering, as Kafka's own consumer does it: from an aborted transaction's first offset,
 * that producer's transactional records are skipped until its abort marker (a control record).
 */
class AbortedTransactions {
  private readonly pending: { producerId: string; firstOffset: number }[];
  private readonly active = new Set<string>();

  constructor(list: { producerId: string; firstOffset: string }[]) {
    this.pending = list.map((t) => ({ producerId: t.producerId, firstOffset: Number(t.firstOffset) })).sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** True for control records and for records of an aborted transaction. */
  skips(message: FetchedMessage, offset: number): boolean {
    while (this.pending.length > 0 && this.pending[0]!.firstOffset <= offset) this.active.add(this.pending.shift()!.producerId);
    const producerId = message.batchContext?.producerId ?? '';
    if (message.isControlRecord) {
      this.active.delete(producerId);
      return true;
    }
    return message.batchContext?.inTransaction === true && this.active.has(producerId);
  }
}

function toLogRecord(message: FetchedMessage, offset: number): LogRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    // Kafka allows repeated header names; the log record keeps the last one.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    headers[name] = last ? last.toString('utf8') : '';
  }
  return {
    offset,
    timestampMs: Number(message.timestamp),
    key: message.key === null ? null : message.key.toString('utf8'),
    // A tombstone (null value) from a foreign producer reads as empty bytes: it then fails to decode and
    // becomes an invalid_record abort like any other undecodable record.
    value: message.value === null ? Buffer.alloc(0) : Buffer.from(message.value),
    headers,
  };
}
