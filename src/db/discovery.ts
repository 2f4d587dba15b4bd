// Graph discovery on a shared log (Kafka): another replica may create a graph at any time, and replicas
// never talk to each other, so each one polls the log's list of graphs and opens the new ones — plus a
// prompt look when a read with minBasis names a graph this replica has not heard of yet.

import type { AdapterLogger } from '../broker-adapters/embedded.js';
import type { BrokerAdapter } from '../broker-adapters/types.js';
import { sleep } from '../core/sleep.js';

/** Default poll interval: one metadata request per replica every few seconds costs the cluster nothing. */
export const DISCOVERY_INTERVAL_MS_DEFAULT = 3_000;
/** Lookups prompted by reads are spaced at least this far apart, however many reads wait: a burst of
 * requests naming unknown graphs costs the cluster at most four metadata requests a second. */
const LOOKUP_SPACING_MS_MIN = 250;
const WARN_INTERVAL_MS = 30_000;

export interface DiscoveryTarget {
  /** Whether the graph is open (or opening) in this process. */
  isOpen(graph: string): boolean;
  /** Opens the graph: its state store and its materializer, which starts folding the log. */
  open(graph: string): Promise<unknown>;
}

export class GraphDiscovery {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private lookup: Promise<void> | null = null;
  private lastLookupMs = 0;
  private lastWarnMs = 0;

  constructor(
    private readonly log: BrokerAdapter,
    private readonly target: DiscoveryTarget,
    private readonly intervalMs: number,
    private readonly logger?: AdapterLogger,
  ) {}

  start(): void {
    this.loop ??= this.poll();
  }

  /** Stops polling; a lookup in flight finishes within the adapter's own call bound. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await this.lookup?.catch(() => undefined);
  }

  /** Waits until `graph` is open here, looking it up on the log; false when `timeoutMs` passes first. */
  async find(graph: string, timeoutMs: number): Promise<boolean> {
    const deadlineMs = Date.now() + timeoutMs;
    while (!this.target.isOpen(graph)) {
      if (this.stopping.signal.aborted || Date.now() >= deadlineMs) return false;
      await this.lookOnce().catch(() => undefined); // the poll reports failures; a read only needs the outcome
    }
    return true;
  }

  private async poll(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      await sleep(this.intervalMs, this.stopping.signal);
      if (this.stopping.signal.aborted) return;
      await this.lookOnce().catch((err: unknown) => this.warnThrottled(err));
    }
  }

  /** One look at the log's graphs, shared by concurrent callers and spaced from the previous one. */
  private lookOnce(): Promise<void> {
    this.lookup ??= (async () => {
      const waitMs = this.lastLookupMs + LOOKUP_SPACING_MS_MIN - Date.now();
      if (waitMs > 0) await sleep(waitMs, this.stopping.signal);
      try {
        await this.openNew();
      } finally {
        this.lastLookupMs = Date.now();
      }
    })().finally(() => (this.lookup = null));
    return this.lookup;
  }

  private async openNew(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    for (const graph of await this.log.listGraphs()) {
      if (this.stopping.signal.aborted) return;
      if (this.target.isOpen(graph)) continue;
      // One graph that cannot be opened (too many graphs, a broken store) must not hide the others.
      await this.target.open(graph).then(
        () => this.logger?.info({ graph }, 'opened a graph created by another replica'),
        (err: unknown) => this.warnThrottled(err, graph),
      );
    }
  }

  private warnThrottled(err: unknown, graph?: string): void {
    const now = Date.now();
    if (now - this.lastWarnMs < WARN_INTERVAL_MS) return;
    this.lastWarnMs = now;
    this.logger?.warn({ err: err instanceof Error ? err.message : String(err), ...(graph ? { graph } : {}) }, 'graph discovery failed; retrying');
  }
}

