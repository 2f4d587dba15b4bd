// Maintains every view of one graph: follows the graph's durable tx reports from its own stored offset
// (catch-up from the tx index, then woken by each new report), computes each view's row delta per tx,
// and writes a step's rows, deltas and the maintained offset in one RocksDB batch (exactly once).

import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { StrataError } from '../core/errors.js';
import type { Limits } from '../core/limits.js';
import type { TxReport, ViewDefinition } from '../core/types.js';
import type { GraphHandle } from '../db/graph.js';
import { OffsetWaiters } from '../db/waiters.js';
import { compileStoredView, type ViewSpec } from './definition.js';
import { fullDelta, touchedBy, viewDelta, type RowChange, type SliceSource, type TouchedSet } from './delta.js';
import { loadMaintainedOffset, ViewRowWriter, type ViewDelta } from './rows.js';

/** Reports folded into the views per write batch: bounds the staged rows and the latency of the first delta. */
const REPORTS_PER_STEP = 256;

/**
 * Emits 'delta' (ViewDelta) for each view that changed, in offset order, after the batch holding it is
 * written, and 'maintained' (offset) after every batch.
 */
export class ViewMaintainer extends EventEmitter {
  /** Every view is maintained (written) up to this offset. */
  offset = -1;
  /** Views in force at `offset`, by name. */
  private views = new Map<string, ViewDefinition>();
  private readonly specs = new Map<string, ViewSpec>();
  private readonly writer: ViewRowWriter;
  private readonly waiters = new OffsetWaiters();
  private readonly stopping = new AbortController();
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  /** Set when maintenance stopped on an error (a bug): reads that wait for it fail instead of timing out. */
  failure: Error | null = null;

  constructor(private readonly handle: GraphHandle, private readonly limits: Limits, private readonly logger?: Logger) {
    super();
    this.setMaxListeners(0);
    this.writer = new ViewRowWriter(handle.store);
  }

  private get source(): SliceSource {
    return { reader: this.handle.reader, schemaAt: (b) => this.handle.schemaAt(b) };
  }

  /** Resumes at the stored offset + 1: O(1) in history, no replay of what was maintained. */
  async start(): Promise<void> {
    this.offset = await loadMaintainedOffset(this.handle.store);
    this.views = new Map(this.handle.schemaAt(this.offset).views);
    const nudge = (): void => this.wake?.();
    this.handle.materializer.on('report', nudge);
    this.handle.materializer.on('caughtUp', nudge);
    this.loop = this.follow().finally(() => {
      this.handle.materializer.off('report', nudge);
      this.handle.materializer.off('caughtUp', nudge);
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.loop;
  }

  /** The compiled spec of a stored definition (compiled once per query text). */
  spec(definition: ViewDefinition): ViewSpec {
    let spec = this.specs.get(definition.query);
    if (spec === undefined) this.specs.set(definition.query, (spec = compileStoredView(definition.query, this.limits)));
    return spec;
  }

  /** Resolves once every view is maintained up to `offset`; basis_not_reached after `timeoutMs`. */
  async waitFor(offset: number, timeoutMs: number): Promise<void> {
    if (this.offset >= offset) return;
    if (this.failure) throw this.failure;
    if ((await this.waiters.wait(offset, timeoutMs)) === null) {
      if (this.failure) throw this.failure;
      throw new StrataError('basis_not_reached', `views are maintained up to offset ${this.offset}; offset ${offset} was not reached within ${timeoutMs} ms`, { offset, maintained: this.offset });
    }
  }

  private async follow(): Promise<void> {
    try {
      while (!this.stopping.signal.aborted) {
        const target = this.handle.materializedThrough;
        if (this.offset >= target) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = null;
          continue;
        }
        await this.catchUp(target);
      }
    } catch (err) {
      this.failure = new StrataError('internal_error', `view maintenance of graph ${this.handle.name} stopped: ${err instanceof Error ? err.message : String(err)}`);
      this.logger?.error({ err, graph: this.handle.name }, 'view maintenance stopped');
    }
  }

  /**
   * With no view defined, nothing before the next view definition needs a report read or a write: skip to
   * just before it (in memory only; after a restart the skip is redone as cheaply). Returns whether it skipped.
   */
  private skipWithoutViews(target: number): boolean {
    if (this.views.size > 0) return false;
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.handle.materializer.schemaHistory) {
      if ('view' in e && e.offset > this.offset) {
        next = e.offset;
        break;
      }
    }
    const reached = Math.min(target, next - 1);
    if (reached <= this.offset) return false;
    this.offset = reached;
    this.emit('maintained', reached);
    this.waiters.passed(reached);
    return true;
  }

  /** One step: up to REPORTS_PER_STEP reports after `offset`, folded into the views and written at once. */
  private async catchUp(target: number): Promise<void> {
    if (this.skipWithoutViews(target)) return;
    const durable = Math.min(target, this.handle.durableOffset);
    const reports = await this.handle.reader.reports(this.offset + 1, durable, REPORTS_PER_STEP);
    const deltas: ViewDelta[] = [];
    for (const report of reports) {
      if (this.stopping.signal.aborted) return;
      deltas.push(...(await this.step(report)));
    }
    // Past the last report there is nothing but offset gaps up to the target (Kafka transaction markers).
    const reached = reports.length === REPORTS_PER_STEP ? reports[reports.length - 1]!.offset : target;
    await this.writer.flush(reached);
    this.offset = reached;
    for (const d of deltas) this.emit('delta', d);
    this.emit('maintained', reached);
    this.waiters.passed(reached);
  }

  /** Every view's delta for one tx; view definitions follow the tx's own schema changes. */
  private async step(report: TxReport): Promise<ViewDelta[]> {
    const before = this.views;
    const after = new Map(before);
    for (const c of report.changes) {
      if (c.kind !== 'schema' || !('view' in c)) continue;
      if (c.definition === null) after.delete(c.view);
      else after.set(c.view, c.definition);
    }
    this.views = after;
    if (report.status !== 'committed') return [];
    let touched: TouchedSet | null = null;
    const out: ViewDelta[] = [];
    for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      const changes = await this.viewChanges(name, before.get(name), after.get(name), report, async () => (touched ??= await touchedBy(report, this.source)));
      const delta = this.writer.stage(name, report.offset, changes);
      if (delta) out.push(delta);
    }
    return out;
  }

  private async viewChanges(name: string, old: ViewDefinition | undefined, now: ViewDefinition | undefined, report: TxReport, touched: () => Promise<TouchedSet>): Promise<RowChange[]> {
    const current = this.writer.current(name);
    if (now === undefined) {
      // Retired: every row ends here, so the change stream ends with the view's removal.
      return [...(await current.all())].map(([hex, json]) => ({ key: Buffer.from(hex, 'hex'), before: json, after: null }));
    }
    const spec = this.spec(now);
    // (Re)defined: the new query's rows replace whatever the view held.
    if (old?.query !== now.query) return fullDelta(spec, this.source, report.offset, current);
    return viewDelta(spec, this.source, await touched(), current);
  }
}
