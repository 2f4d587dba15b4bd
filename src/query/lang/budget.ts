// The limits of one query evaluation: a deadline checked cooperatively (every few thousand steps and
// after every read) and a bound on the solutions held at once. The clock is injected for tests.

import { StrataError } from '../../core/errors.js';

/** Steps between two clock reads: reading the clock per row would cost more than the rows. */
const TICKS_PER_CHECK = 4096;

export class Budget {
  private ticks = 0;
  private readonly deadline: number;

  constructor(
    private readonly timeoutMs: number,
    private readonly bindingsMax: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.deadline = clock() + timeoutMs;
  }

  /** The injected clock (ms), for callers that weigh strategies by measured time. */
  now(): number {
    return this.clock();
  }

  /** Throws query_timeout once the deadline has passed. */
  check(): void {
    if (this.clock() > this.deadline) {
      throw new StrataError('query_timeout', `the query ran longer than ${this.timeoutMs} ms; narrow it (constants, types, fewer cross products) or raise timeoutMs within the limit`, { timeoutMs: this.timeoutMs });
    }
  }

  /** Counts `n` steps of work; reads the clock every TICKS_PER_CHECK steps. */
  tick(n = 1): void {
    this.ticks += n;
    if (this.ticks >= TICKS_PER_CHECK) {
      this.ticks = 0;
      this.check();
    }
  }

  /** Throws result_too_large when a join holds more solutions than allowed. */
  solutions(count: number): void {
    if (count > this.bindingsMax) {
      throw new StrataError('result_too_large', `the query's intermediate solutions exceed ${this.bindingsMax}; constrain it (bind more variables, add constants)`, { solutionsMax: this.bindingsMax, stage: 'join' });
    }
  }
}
