// Solutions as a relation (variables × rows of typed values) and the one join primitive every pattern
// uses: match a clause's terms against candidate tuples, extending each solution with the new variables.

import type { Value } from '../../core/types.js';
import { valueIdentity } from '../../core/values.js';
import type { Term } from './ast.js';
import type { Budget } from './budget.js';

/** Distinct solutions: every row binds every variable in `vars`, in that order. */
export interface Relation {
  vars: string[];
  rows: Value[][];
}

export const UNIT: Relation = { vars: [], rows: [[]] };

export function idValue(id: string): Value {
  return { t: 's', v: id };
}

/** A string id held by a solution value, or null when the value cannot name an entity. */
export function idOf(v: Value): string | null {
  return v.t === 's' ? v.v : null;
}

/** An unambiguous key of some columns of a row (identity: 5 and 5.0 are one value). */
export function rowKey(row: Value[], columns: number[]): string {
  return JSON.stringify(columns.map((i) => valueIdentity(row[i]!)));
}

/** Keeps the first of each group of rows equal on `columns`. */
export function distinctOn(rows: Value[][], columns: number[]): Value[][] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    const key = rowKey(row, columns);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Rows restricted (and reordered) to `vars`, duplicates removed. */
export function project(rel: Relation, vars: string[]): Relation {
  const columns = vars.map((v) => rel.vars.indexOf(v));
  if (columns.some((c) => c < 0)) throw new Error(`projection onto unbound variables ${vars.join(',')}`);
  const rows = rel.rows.map((row) => columns.map((c) => row[c]!));
  return { vars, rows: distinctOn(rows, rows.length === 0 ? [] : vars.map((_, i) => i)) };
}

/** How one term of a clause meets a candidate tuple. */
type Slot =
  | { k: 'column'; index: number } // a variable the solution already binds: must be equal
  | { k: 'const'; identity: string } // a constant: must be equal
  | { k: 'new'; index: number } // the first occurrence of a new variable: binds it
  | { k: 'repeat'; index: number } // a later occurrence of a new variable in the same clause: must be equal
  | { k: 'skip' }; // the anonymous variable

/**
 * Extends solutions with candidate tuples aligned with a clause's terms. Rows for one solution are
 * emitted consecutively; when the clause has anonymous terms, two tuples may differ only there, so rows
 * are deduplicated per solution to keep solutions distinct.
 */
export class Joiner {
  readonly vars: string[];
  private readonly slots: Slot[];
  private readonly rows: Value[][] = [];
  private readonly dedup: boolean;
  private lastRow: Value[] | null = null;
  private seen = new Set<string>();

  /**
   * `constants[i]` is the stored form of term i when it is a constant (null: the constant cannot match).
   * `functional`: the caller's tuples are distinct on their non-anonymous slots for every solution (e.g.
   * reach: one depth per pair), so there is nothing to deduplicate.
   */
  constructor(rel: Relation, terms: Term[], constants: (Value | null)[], private readonly budget: Budget, functional = false) {
    const vars = [...rel.vars];
    const fresh = new Map<string, number>();
    this.slots = terms.map((t, i): Slot => {
      if (t.t === 'any') return { k: 'skip' };
      if (t.t === 'const') {
        const c = constants[i];
        return { k: 'const', identity: c === null || c === undefined ? '' : valueIdentity(c) };
      }
      const column = rel.vars.indexOf(t.name);
      if (column >= 0) return { k: 'column', index: column };
      const earlier = fresh.get(t.name);
      if (earlier !== undefined) return { k: 'repeat', index: earlier };
      fresh.set(t.name, fresh.size);
      vars.push(t.name);
      return { k: 'new', index: fresh.size - 1 };
    });
    this.vars = vars;
    // Two matching tuples differ only in anonymous slots; with no new variable at all they are equal.
    this.dedup = (!functional && terms.some((t) => t.t === 'any')) || fresh.size === 0;
    this.impossible = terms.some((t, i) => t.t === 'const' && (constants[i] ?? null) === null);
  }

  /** A constant that cannot match (e.g. a value the attribute's type cannot hold): nothing matches. */
  readonly impossible: boolean;

  /** Emits `row` extended by the tuple when every slot matches. */
  emit(row: Value[], tuple: Value[]): void {
    const added: Value[] = [];
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      const v = tuple[i]!;
      switch (slot.k) {
        case 'skip': break;
        case 'column': if (valueIdentity(row[slot.index]!) !== valueIdentity(v)) return; break;
        case 'const': if (valueIdentity(v) !== slot.identity) return; break;
        case 'new': added.push(v); break;
        case 'repeat': if (valueIdentity(added[slot.index]!) !== valueIdentity(v)) return; break;
      }
    }
    if (this.dedup) {
      if (row !== this.lastRow) {
        this.lastRow = row;
        this.seen = new Set();
      }
      const key = JSON.stringify(added.map(valueIdentity));
      if (this.seen.has(key)) return;
      this.seen.add(key);
    }
    this.rows.push(added.length === 0 ? row : [...row, ...added]);
    this.budget.tick();
    if ((this.rows.length & 0xfff) === 0) this.budget.solutions(this.rows.length);
  }

  result(): Relation {
    this.budget.solutions(this.rows.length);
    return { vars: this.vars, rows: this.rows };
  }
}
