// What the derived-topic producers share (the changes topic, db/changes-producer.ts; view changelogs,
// views/changelog-producer.ts): one pump per graph produces what lies after its last acknowledged
// offset, chunk by chunk. New state only wakes it; what to produce is read back from RocksDB, so memory
// stays bounded however long the broker is away, and catch-up and live share one path. The last
// acknowledged offset is saved after each chunk (OffsetFile), so a restart re-produces at most the
// chunk in flight at a crash: delivery is at least once. A failed produce is retried with back-off until
// the broker acknowledges it or the producer stops, with one warning per interval, not per attempt.

import { join } from 'node:path';
import type { AdapterLogger } from '../broker-adapters/embedded.js';
import type { BrokerAdapter, LogRecordInput } from '../broker-adapters/types.js';
import { sleep } from '../core/sleep.js';
import type { GraphHandle } from './graph.js';
import { OffsetFile } from './offset-file.js';

const RETRY_MS_MIN = 100;
const RETRY_MS_MAX = 5_000;
const WARN_INTERVAL_MS = 30_000;

export interface Pump {
  readonly handle: GraphHandle;
  /** Last offset whose output the broker acknowledged (-1: none). */
  produced: number;
  running: Promise<void> | null;
  lastWarnMs: number;
}

export abstract class DerivedTopicProducer<P extends Pump> {
  private readonly pumps = new Map<string, P>();
  protected readonly stopping = new AbortController();
  private readonly offsets: OffsetFile;

  /** `subdir` of the data dir keeps the offsets; `what` names the output in log lines. */
  constructor(protected readonly log: BrokerAdapter, dataDir: string, subdir: string, protected readonly logger: AdapterLogger | undefined, private readonly what: string) {
    this.offsets = new OffsetFile(join(dataDir, subdir));
  }

  /** The offset the graph's output exists through: what the pump catches up to. */
  protected abstract target(pump: P): number;

  /** Produces the next chunk after `pump.produced`; the offset it covers through, or null once stopping. */
  protected abstract produceChunk(pump: P, target: number): Promise<number | null>;

  /** Last offset whose output was acknowledged (-1 when none), for tests and metrics. */
  producedOffset(graph: string): number {
    return this.pumps.get(graph)?.produced ?? -1;
  }

  /** Stops every pump; a chunk in flight finishes or fails within the adapter's append bound. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.pumps.values()].map((p) => p.running));
  }

  /** Starts a graph's pump from its saved offset (catch-up); `subscribe` hands over the wake-up for new state. */
  protected start(pump: P, subscribe: (wake: () => void) => void): void {
    if (this.pumps.has(pump.handle.name) || this.stopping.signal.aborted) return;
    this.pumps.set(pump.handle.name, pump);
    this.track(pump, this.offsets.load(pump.handle.name).then((offset) => {
      pump.produced = offset;
      subscribe(() => this.wake(pump));
      return this.run(pump);
    }));
  }

  /**
   * Produces `records` to `topic`, retrying until the broker acknowledges them; false once stopping.
   * `skip(err)` true gives up on them instead (retrying cannot help; the caller logs why).
   */
  protected async produceRetrying(pump: P, topic: string, records: LogRecordInput[], skip?: (err: unknown) => boolean): Promise<boolean> {
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      try {
        await this.log.produce(topic, records);
        return true;
      } catch (err) {
        if (skip?.(err)) return true;
        this.warnThrottled(pump, err);
        await sleep(Math.min(RETRY_MS_MAX, RETRY_MS_MIN * 2 ** Math.min(attempt, 6)), this.stopping.signal);
      }
    }
    return false;
  }

  private wake(pump: P): void {
    if (pump.running || this.stopping.signal.aborted) return;
    this.track(pump, this.run(pump));
  }

  private track(pump: P, running: Promise<void>): void {
    pump.running = running
      .catch((err: unknown) => this.logger?.warn({ graph: pump.handle.name, produced: pump.produced, err: messageOf(err) }, `${this.what} producer stopped`))
      .finally(() => {
        // State that arrived while the pump was finishing its last chunk starts it again.
        pump.running = null;
        if (pump.produced < this.target(pump)) this.wake(pump);
      });
  }

  private async run(pump: P): Promise<void> {
    while (!this.stopping.signal.aborted && pump.produced < this.target(pump)) {
      const through = await this.produceChunk(pump, this.target(pump));
      if (through === null) return;
      pump.produced = through;
      await this.offsets.save(pump.handle.name, through);
    }
  }

  private warnThrottled(pump: P, err: unknown): void {
    const now = Date.now();
    if (now - pump.lastWarnMs < WARN_INTERVAL_MS) return;
    pump.lastWarnMs = now;
    this.logger?.warn({ graph: pump.handle.name, produced: pump.produced, err: messageOf(err) }, `producing to the ${this.what} failed; retrying`);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
