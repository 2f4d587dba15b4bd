// Strata in-process (the embedded library, `openStrata`): ingest until queryable, entity as of a past
// offset, entity at latest, type listing as of an offset, and diffs over a fixed span of txs.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTxJson } from '../../dist/src/codec/json.js';
import { DEFAULT_LIMITS } from '../../dist/src/core/limits.js';
import { openStrata } from '../../dist/src/strata.js';
import { Store } from '../../dist/src/store/rocks.js';
import { closedLoop, median } from '../lib/stats.js';

export const GRAPH = 'bench';

/**
 * Counts what the materializer hands RocksDB, so the raw bound can replay the same number of entries
 * of the same sizes in batches of the same sizes. Wraps the store's one write method; nothing else.
 */
export const writeStats = { batches: 0, puts: 0, keyBytes: 0, valueBytes: 0, batchSizes: [] };
const originalWrite = Store.prototype.write;
Store.prototype.write = function countedWrite(puts) {
  writeStats.batches++;
  writeStats.puts += puts.length;
  writeStats.batchSizes.push(puts.length);
  for (const p of puts) {
    writeStats.keyBytes += p.key.length;
    writeStats.valueBytes += p.value.length;
  }
  return originalWrite.call(this, puts);
};

export function resetWriteStats() {
  Object.assign(writeStats, { batches: 0, puts: 0, keyBytes: 0, valueBytes: 0, batchSizes: [] });
}

export function parseAll(txs) {
  return txs.map((body) => parseTxJson(body, DEFAULT_LIMITS));
}

export async function openBenchDb(dataDir = mkdtempSync(join(tmpdir(), 'strata-bench-'))) {
  return { db: await openStrata({ dataDir }), dataDir };
}

/**
 * Publishes parsed txs [from, to) in batches (one log append each), `inFlight` batches at a time, each
 * waiting for its outcome: done = every tx is materialized and readable.
 */
export async function ingest(db, parsed, from, to, { batch = 1000, inFlight = 2 } = {}) {
  const started = performance.now();
  const pending = [];
  let aborted = 0;
  const settle = async (p) => {
    for (const r of await p) if (r.status !== 'committed') aborted++;
  };
  for (let i = from; i < to; i += batch) {
    pending.push(db.transactBatch(GRAPH, parsed.slice(i, Math.min(to, i + batch)), { wait: true, timeoutMs: 120_000 }));
    if (pending.length >= inFlight) await settle(pending.shift());
  }
  for (const p of pending) await settle(p);
  return { seconds: (performance.now() - started) / 1000, txs: to - from, aborted };
}

/** Entity as of each target's offset, at a given concurrency. */
export function entityAsOf(db, targets, concurrency) {
  return closedLoop(targets.length, concurrency, (i) => db.entity(GRAPH, targets[i].id, targets[i].offset));
}

/**
 * Attribute reads of the latest slice through the synchronous in-process path (`latestAttrs`), falling
 * back to `entity()` when the hot cache misses: every call reads all attributes of one node.
 */
export function latestAttrs(db, ids) {
  let attrs = 0;
  let misses = 0;
  // Throughput is timed over the whole loop: a clock read per call would cost as much as the read.
  const started = performance.now();
  for (let i = 0; i < ids.length; i++) {
    const found = db.latestAttrs(GRAPH, ids[i]);
    if (found === undefined) misses++;
    else if (found !== null) attrs += Object.keys(found).length;
  }
  const seconds = (performance.now() - started) / 1000;
  return { count: ids.length, perSecond: ids.length / seconds, attrsPerSecond: attrs / seconds, attrsPerRead: attrs / ids.length, misses, seconds };
}

/** Full entity views (attributes and edges) at the latest offset through `entity()`. */
export async function entityLatest(db, ids, basis) {
  let attrs = 0;
  const r = await closedLoop(ids.length, 1, async (i) => {
    const view = await db.entity(GRAPH, ids[i], basis);
    if (view) attrs += Object.keys(view.attrs).length;
  });
  return { ...r, attrsPerSecond: attrs / r.seconds, attrsPerRead: attrs / ids.length };
}

export function listAsOf(db, type, offsets, limit) {
  return closedLoop(offsets.length, 1, (i) => db.listEntities(GRAPH, { type, where: [], limit }, offsets[i]));
}

/** Diffs over spans (a, a + span]; the median time of the spans, in ms, and the changes per diff. */
export async function diffSpans(db, starts, span) {
  const times = [];
  let changes = 0;
  for (const a of starts) {
    const t = performance.now();
    const d = await db.diff(GRAPH, a, a + span, {});
    times.push(performance.now() - t);
    changes += d.length;
  }
  return { medianMs: median(times), changesPerDiff: changes / starts.length, spans: starts.length };
}
