// Hands each live tx report to the subscriptions that can use it. Subscriptions that follow given
// entity ids are indexed by id, so a report reaches only those naming one of its changed entities:
// with 500 subscribers following 20 ids each, a tx wakes a handful of them instead of all 500.
// One listener on the materializer replaces one listener per subscription (an EventEmitter copies its
// listener array on every emit).

import type { TxReport } from '../core/types.js';

export type ReportListener = (report: TxReport) => void;

export class ReportFanout {
  /** Listeners that take every report. */
  private readonly all = new Set<ReportListener>();
  /** id → listeners interested only in reports changing that entity. */
  private readonly byId = new Map<string, Set<ReportListener>>();
  private readonly interests = new Map<ReportListener, ReadonlySet<string>>();

  /** `ids`: the listener only needs reports with a change naming one of these entities (null: every report). */
  add(listener: ReportListener, ids: ReadonlySet<string> | null): void {
    if (ids === null) {
      this.all.add(listener);
      return;
    }
    this.interests.set(listener, ids);
    for (const id of ids) {
      let set = this.byId.get(id);
      if (set === undefined) this.byId.set(id, (set = new Set()));
      set.add(listener);
    }
  }

  remove(listener: ReportListener): void {
    if (this.all.delete(listener)) return;
    const ids = this.interests.get(listener);
    if (ids === undefined) return;
    this.interests.delete(listener);
    for (const id of ids) {
      const set = this.byId.get(id);
      if (set === undefined) continue;
      set.delete(listener);
      if (set.size === 0) this.byId.delete(id);
    }
  }

  get size(): number {
    return this.all.size + this.interests.size;
  }

  /** Calls every listener the report concerns, each once, in registration order within its group. */
  publish(report: TxReport): void {
    for (const listener of this.all) listener(report);
    if (this.byId.size === 0) return;
    let called: Set<ReportListener> | null = null;
    for (const c of report.changes) {
      if (!('id' in c)) continue;
      const set = this.byId.get(c.id);
      if (set === undefined) continue;
      for (const listener of set) {
        called ??= new Set();
        if (called.has(listener)) continue;
        called.add(listener);
        listener(report);
      }
    }
  }
}
