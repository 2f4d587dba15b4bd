// Shared pieces of the view tests: random view queries (the query tests' grammar minus what a view cannot
// carry), full listings of a view's rows, collection of its change stream, and replay of that stream.

import assert from 'node:assert/strict';
import type { StrataDb, ViewDeltaEvent } from '../../src/core/strata-api.js';
import { Rng } from '../reference/generator.js';
import { QueryGen } from '../query/gen.js';
import type { QueryJson } from '../query/naive.js';

export const WAIT = { wait: true, timeoutMs: 10_000 } as const;

/** Ids the random histories use (n<k> nodes, e<k> edges), for constants in queries. */
export const SOME_IDS = ['n0', 'n1', 'n2', 'n3', 'n5', 'e4', 'e7'];

/** A random view query: QueryGen's grammar without orderBy/limit/offset, which views reject. */
export function randomViewQuery(gen: QueryGen): QueryJson {
  const q = gen.next(SOME_IDS);
  delete q['orderBy'];
  delete q['limit'];
  delete q['offset'];
  return q;
}

export function queryGen(seed: number): QueryGen {
  return new QueryGen(new Rng(seed));
}

/** Rows as a sorted list of their JSON texts: views list in row-key order, queries in value order. */
export function rowSet(rows: unknown[][]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}

/** Every row of a view as of `at`, through the paged API (small pages, so paging is exercised). */
export async function allViewRows(db: StrataDb, graph: string, view: string, at: number, limit = 7): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await db.viewRows(graph, view, { at }, { limit, ...(after === undefined ? {} : { after }) });
    assert.equal(page.basis, at);
    rows.push(...page.rows);
    if (page.next === null) return rows;
    after = page.next;
  }
}

/**
 * The view's stream from `from` until it has been idle for `idleMs` (catch-up of stored deltas takes
 * milliseconds; the caller made sure every delta it expects is maintained before subscribing).
 */
export async function collectDeltas(db: StrataDb, graph: string, view: string, from: number, idleMs = 400): Promise<ViewDeltaEvent[]> {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), idleMs);
  const out: ViewDeltaEvent[] = [];
  try {
    for await (const d of db.subscribeView(graph, view, from, { signal: controller.signal, bufferMax: 10_000 })) {
      out.push(d);
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), idleMs);
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/** Applies deltas in order, checking each one against the rows so far; returns the final rows. */
export function replay(deltas: ViewDeltaEvent[], label: string): string[] {
  const rows = new Set<string>();
  let last = -1;
  for (const d of deltas) {
    assert.ok(d.offset > last, `${label}: offsets increase (${d.offset} after ${last})`);
    last = d.offset;
    assert.ok(d.added.length + d.removed.length > 0, `${label}: no empty delta at ${d.offset}`);
    for (const r of d.removed) assert.ok(rows.delete(JSON.stringify(r)), `${label}: removed row ${JSON.stringify(r)} at ${d.offset} was present`);
    for (const r of d.added) {
      const text = JSON.stringify(r);
      assert.ok(!rows.has(text), `${label}: added row ${text} at ${d.offset} was absent`);
      rows.add(text);
    }
  }
  return [...rows].sort();
}
