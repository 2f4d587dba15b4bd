// Callers waiting for an offset to be materialized (publishers with wait=true, minBasis reads), kept
// sorted by offset so that each report wakes exactly the waiters it satisfies: O(woken), not O(all).

import type { TxReport } from '../core/types.js';

interface Waiter {
  offset: number;
  resolve(report: TxReport | null): void;
  timer: NodeJS.Timeout;
  done: boolean;
}

export class OffsetWaiters {
  private queue: Waiter[] = [];

  /** Resolves with the first report at or past `offset`, or null after `timeoutMs`. */
  wait(offset: number, timeoutMs: number): Promise<TxReport | null> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        offset,
        done: false,
        resolve,
        timer: setTimeout(() => {
          waiter.done = true; // dropped lazily when the queue front passes it
          resolve(null);
        }, timeoutMs),
      };
      this.insert(waiter);
    });
  }

  private insert(w: Waiter): void {
    // Waiters mostly arrive in offset order, so scanning from the back is usually one step.
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1].offset > w.offset) i--;
    this.queue.splice(i, 0, w);
  }

  reached(report: TxReport): void {
    let n = 0;
    while (n < this.queue.length && this.queue[n].offset <= report.offset) n++;
    if (n === 0) return;
    const woken = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    for (const w of woken) {
      if (w.done) continue;
      w.done = true;
      clearTimeout(w.timer);
      w.resolve(report);
    }
  }
}
