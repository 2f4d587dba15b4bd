// View rows in RocksDB (keys.ts families q, r, d and `m views`): the current rows the maintainer compares
// against, the temporal rows that answer "rows as of T", the per-offset deltas that feed the change
// streams, and the maintained offset — staged per step and written in one batch with that offset.

import * as K from '../store/keys.js';
import type { KeyValue, Store } from '../store/rocks.js';
import type { CurrentRows, RowChange } from './delta.js';

const ABSENT = Buffer.alloc(0);
const MAINTAINED_KEY = K.metaKey('views');
/** Entries read per scan call when listing rows: versions of one row are contiguous, rows are paged. */
const SCAN_CHUNK = 512;

/** One view's change at one offset, as streamed: rows in their JSON form, each list in row-key order. */
export interface ViewDelta {
  view: string;
  offset: number;
  added: unknown[][];
  removed: unknown[][];
}

export async function loadMaintainedOffset(store: Store): Promise<number> {
  const buf = await store.get(MAINTAINED_KEY);
  return buf === null ? -1 : (JSON.parse(buf.toString('utf8')) as { offset: number }).offset;
}

/** Staged writes of the maintainer: reads of current rows see them before they are written. */
export class ViewRowWriter {
  private puts: KeyValue[] = [];
  /** view → row key (hex) → row JSON text, null = absent: what is staged but not yet written. */
  private readonly staged = new Map<string, Map<string, string | null>>();

  constructor(private readonly store: Store) {}

  current(view: string): CurrentRows {
    const staged = (): Map<string, string | null> => this.staged.get(view) ?? new Map();
    return {
      get: async (keys) => {
        const overlay = staged();
        const missing = keys.filter((k) => !overlay.has(k.toString('hex')));
        const found = await this.store.getMany(missing.map((k) => K.viewCurrentKey(view, k)));
        const fromStore = new Map(missing.map((k, i) => [k.toString('hex'), found[i]]));
        return keys.map((k) => {
          const hex = k.toString('hex');
          if (overlay.has(hex)) return overlay.get(hex)!;
          const buf = fromStore.get(hex);
          return buf === null || buf === undefined || buf.length === 0 ? null : buf.toString('utf8');
        });
      },
      all: async () => {
        const prefix = K.viewCurrentPrefix(view);
        const out = new Map<string, string>();
        for (const { key, value } of await this.store.scanPrefix(prefix)) {
          if (value.length > 0) out.set(key.subarray(prefix.length).toString('hex'), value.toString('utf8'));
        }
        for (const [hex, json] of staged()) {
          if (json === null) out.delete(hex);
          else out.set(hex, json);
        }
        return out;
      },
    };
  }

  /** Stages a view's changed rows at `offset`; returns the delta to announce, or null when nothing changed. */
  stage(view: string, offset: number, changes: RowChange[]): ViewDelta | null {
    if (changes.length === 0) return null;
    const sorted = [...changes].sort((a, b) => Buffer.compare(a.key, b.key));
    let overlay = this.staged.get(view);
    if (overlay === undefined) this.staged.set(view, (overlay = new Map()));
    const added: string[] = [];
    const removed: string[] = [];
    for (const c of sorted) {
      const value = c.after === null ? ABSENT : Buffer.from(c.after, 'utf8');
      this.puts.push({ key: K.viewCurrentKey(view, c.key), value });
      this.puts.push({ key: K.viewRowKey(view, c.key, offset), value });
      overlay.set(c.key.toString('hex'), c.after);
      if (c.before !== null) removed.push(c.before);
      if (c.after !== null) added.push(c.after);
    }
    const text = `{"added":[${added.join(',')}],"removed":[${removed.join(',')}]}`;
    this.puts.push({ key: K.viewDeltaKey(view, offset), value: Buffer.from(text, 'utf8') });
    return { view, offset, ...(JSON.parse(text) as { added: unknown[][]; removed: unknown[][] }) };
  }

  /** Writes everything staged and the maintained offset in one batch: all of a step, or none of it. */
  async flush(offset: number): Promise<void> {
    this.puts.push({ key: MAINTAINED_KEY, value: Buffer.from(JSON.stringify({ offset })) });
    const puts = this.puts;
    this.puts = [];
    await this.store.write(puts);
    this.staged.clear();
  }
}

/** A page of a view's rows as of `basis`, in row-key order, after the row key `after` (hex). */
export async function rowsAt(store: Store, view: string, basis: number, after: string | null, limit: number): Promise<{ rows: unknown[][]; next: string | null }> {
  const prefix = K.viewRowsPrefix(view);
  const end = K.prefixEnd(prefix);
  let gte = after === null ? prefix : K.prefixEnd(Buffer.concat([prefix, Buffer.from(after, 'hex')]));
  const rows: unknown[][] = [];
  let lastKey: string | null = null;
  let decided: string | null = null; // the row whose newest version at or before the basis was already seen
  for (;;) {
    const chunk = await store.range(gte, end, { limit: SCAN_CHUNK });
    for (const { key, value } of chunk) {
      const rowKey = key.subarray(prefix.length, key.length - 8).toString('hex');
      // Versions of a row sort newest first: the first one at or before the basis decides.
      if (rowKey === decided || K.readDesc64(key, key.length - 8) > basis) continue;
      decided = rowKey;
      if (value.length === 0) continue;
      if (rows.length === limit) return { rows, next: lastKey };
      rows.push(JSON.parse(value.toString('utf8')) as unknown[]);
      lastKey = rowKey;
    }
    if (chunk.length < SCAN_CHUNK) return { rows, next: null };
    gte = Buffer.concat([chunk[chunk.length - 1]!.key, Buffer.from([0])]);
  }
}

/** The deltas of a view with offsets in [from, to], at most `limit`, in offset order. */
export async function deltasBetween(store: Store, view: string, from: number, to: number, limit: number): Promise<ViewDelta[]> {
  if (to < from) return [];
  const found = await store.range(K.viewDeltaKey(view, from), K.viewDeltaKey(view, to + 1), { limit });
  const prefixLength = K.viewDeltaPrefix(view).length;
  return found.map(({ key, value }) => ({
    view,
    offset: Number(key.readBigUInt64BE(prefixLength)),
    ...(JSON.parse(value.toString('utf8')) as { added: unknown[][]; removed: unknown[][] }),
  }));
}
