// Callers waiting for an offset to be materialized (publishers with wait=true, minBasis reads), kept
// sorted by offset so that each report wakes exactly the waiters it satisfies: O(woken), not O(all).

import type { TxReport } from '../core/types.js';

/**
 * What wakes a waiter: the first report at or past its offset, 'passed' when the log was read past its
 * offset without a report to hand over (an offset gap such as a Kafka transaction marker), or null when
 * it timed out.
 */
export type WaitResult = TxReport | 'passed' | null;

interface Waiter {
  offset: number;
  resolve(result: WaitResult): void;
  timer: NodeJS.Timeout;
  done: boolean;
}

export class OffsetWaiters {
  private queue: Waiter[] = [];
  /** Timed-out waiters still in the queue: compacted once they are half of it (a far-future minBasis never wakes). */
  private timedOut = 0;

  /** Resolves with the first report at or past `offset`, 'passed', or null after `timeoutMs`. */
  wait(offset: number, timeoutMs: number): Promise<WaitResult> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        offset,
        done: false,
        resolve,
        timer: setTimeout(() => {
          waiter.done = true; // dropped when the queue front passes it, or by the compaction below
          resolve(null);
          this.timedOut++;
          if (this.timedOut * 2 > this.queue.length) {
            this.queue = this.queue.filter((w) => !w.done);
            this.timedOut = 0;
          }
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

  /** Waiters in the queue, timed-out ones not yet dropped included (tests). */
  get size(): number {
    return this.queue.length;
  }

  reached(report: TxReport): void {
    this.release(report.offset, report);
  }

  /** Every offset up to `offset` is materialized, though no report is at hand (offset gaps). */
  passed(offset: number): void {
    this.release(offset, 'passed');
  }

  private release(offset: number, result: TxReport | 'passed'): void {
    let n = 0;
    while (n < this.queue.length && this.queue[n].offset <= offset) n++;
    if (n === 0) return;
    const woken = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    for (const w of woken) {
      if (w.done) {
        this.timedOut--;
        continue;
      }
      w.done = true;
      clearTimeout(w.timer);
      w.resolve(result);
    }
  }
}
