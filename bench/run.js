// `npm run bench [-- --quick]`: Strata against PostgreSQL 15, SQLite, DataScript and naive replay, and
// against the raw bounds (RocksDB, embedded log), on one seeded workload per scale, in one run. Writes
// docs/benchmarks.md: every measure with Strata's figure, each peer's, the ratio, and the targets.

import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DatascriptPeer } from './peers/datascript.js';
import { PostgresCluster, postgresAvailable } from './peers/postgres.js';
import { ReplayPeer } from './peers/replay.js';
import { SqlitePeer } from './peers/sqlite.js';
import { rawLog, rawRocks } from './raw.js';
import { renderReport } from './lib/report.js';
import { closedLoop, median, syncLoop } from './lib/stats.js';
import * as http from './strata/http.js';
import * as inproc from './strata/inproc.js';
import { StrataServer } from './strata/server.js';
import { sseLatency } from './strata/sse.js';
import { generateWorkload, mulberry32, readTargets } from './workload.js';

const quick = process.argv.includes('--quick');
const plan = quick
  ? { scales: [10_000, 100_000], reads: 4_000, sqlTxMax: 5_000, sseSeconds: 8, singleTxs: 2_000, httpReads: 4_000 }
  : { scales: [10_000, 100_000, 1_000_000], reads: 20_000, sqlTxMax: 30_000, sseSeconds: 20, singleTxs: 10_000, httpReads: 20_000 };
const DIFF_SPAN = 1_000;
const LIST_LIMIT = 100;
/** HTTP reads: rounds of alternated Strata / PostgreSQL / empty-route measures, the median run of each kept. */
const HTTP_ROUNDS = 3;

const started = performance.now();
const results = { quick, scales: {}, http: null, publish: null, sse: null, restart: null, rss: [] };
const log = (msg) => process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);

/** Nodes with attributes (customers, products, orders) for attribute reads. */
function nodeIds(w, count, seed) {
  const rnd = mulberry32(seed);
  const nodes = w.entities.filter((e) => e.kind === 'node');
  return Array.from({ length: count }, () => nodes[Math.floor(rnd() * nodes.length)].id);
}

/** Pairs for "a 100× older offset": entities alive at both, read at head-age and head-100·age. */
function ageTargets(w, age, count, seed) {
  const head = w.txs.length - 1;
  const old = head - 100 * age;
  const eligible = w.entities.filter((e) => e.kind === 'node' && e.createdAt <= old);
  const rnd = mulberry32(seed);
  const pick = Array.from({ length: count }, () => eligible[Math.floor(rnd() * eligible.length)].id);
  // Disjoint halves, each read for the first time: a second read of the same entity would be served by
  // the caches the first one filled, which measures the cache, not the age of the offset.
  const half = Math.floor(count / 2);
  return { recent: pick.slice(0, half).map((id) => ({ id, offset: head - age })), old: pick.slice(half).map((id) => ({ id, offset: old })) };
}

function diffStarts(w, count, seed) {
  const rnd = mulberry32(seed);
  const maxStart = w.txs.length - 1 - DIFF_SPAN;
  return Array.from({ length: count }, () => Math.floor(rnd() * maxStart));
}

async function strataInProcess(w, parsed, scale) {
  const { db, dataDir } = await inproc.openBenchDb();
  inproc.resetWriteStats();
  const ing = await inproc.ingest(db, parsed, 0, parsed.length);
  const writes = { ...inproc.writeStats, batchSizes: [...inproc.writeStats.batchSizes] };
  log(`strata ingest: ${(w.facts / ing.seconds).toFixed(0)} facts/s (${ing.aborted} aborted)`);
  const head = parsed.length - 1;
  const targets = readTargets(w, plan.reads, { seed: scale });
  // The warm-up pass over the same targets (as PostgreSQL's and SQLite's) is timed too: it is each
  // pair's first touch, where past versions still come from RocksDB.
  const firstTouch = await inproc.entityAsOf(db, targets, 1);
  const asOf1 = await inproc.entityAsOf(db, targets, 1);
  const asOf32 = await inproc.entityAsOf(db, targets, 32);
  const age = Math.max(1, Math.floor(parsed.length / 1000));
  const ages = ageTargets(w, age, Math.min(plan.reads, 5_000), scale + 1);
  const recent = await inproc.entityAsOf(db, ages.recent, 1);
  const older = await inproc.entityAsOf(db, ages.old, 1);
  const ids = nodeIds(w, plan.reads, scale + 2);
  await inproc.entityLatest(db, ids, head); // warm-up pass (JIT)
  const latest = await inproc.entityLatest(db, ids, head);
  inproc.latestAttrs(db, ids); // warm-up pass (JIT, rendered attributes)
  const attrRuns = [0, 1, 2].map(() => inproc.latestAttrs(db, ids)).sort((a, b) => a.attrsPerSecond - b.attrsPerSecond);
  const latestAttrs = attrRuns[1];
  const listOffsets = readTargets(w, 50, { seed: scale + 3 }).map((t) => t.offset);
  const list = await inproc.listAsOf(db, 'Order', listOffsets, LIST_LIMIT);
  const starts = diffStarts(w, 7, scale + 4);
  const diff = await inproc.diffSpans(db, starts, DIFF_SPAN);
  await db.close();
  log(`strata reads: as-of p50 ${(asOf1.p50Ms * 1000).toFixed(0)} µs, latest ${latestAttrs.attrsPerSecond.toFixed(0)} attrs/s, diff ${diff.medianMs.toFixed(1)} ms`);
  return { dataDir, ingest: ing, writes, firstTouch, asOf1, asOf32, age: { age, recent, older }, latest, latestAttrs, list, diff, targets, ids, listOffsets, starts };
}

/** `n` PostgreSQL connections with their prepared statements; `run(fn)` lends a free one to `fn`. */
async function pgReaderPool(db, n) {
  const readers = await Promise.all(Array.from({ length: n }, () => db.reader()));
  const free = [...readers];
  return {
    run: async (fn) => {
      const r = free.pop();
      try {
        return await fn(r);
      } finally {
        free.push(r);
      }
    },
    close: () => Promise.all(readers.map((r) => r.close())),
  };
}

async function postgresPeer(cluster, w, s, scale) {
  const db = await cluster.database(`s${scale}`);
  const measured = Math.min(w.txs.length, plan.sqlTxMax);
  const t = performance.now();
  await db.ingest(w.txs, 0, measured, 8);
  const ingestSeconds = (performance.now() - t) / 1000;
  await db.bulk(w.txs, measured, w.txs.length);
  const factsMeasured = w.txs.slice(0, measured).reduce((n, tx) => n + tx.ops.length, 0);
  const readers = await pgReaderPool(db, 32);
  const withReader = readers.run;
  const targets = s.targets; // the same (entity, offset) pairs as Strata's
  await closedLoop(targets.length, 32, (i) => withReader((r) => r.entity(targets[i].id, targets[i].offset))); // warm buffers
  const asOf1 = await closedLoop(targets.length, 1, (i) => withReader((r) => r.entity(targets[i].id, targets[i].offset)));
  const asOf32 = await closedLoop(targets.length, 32, (i) => withReader((r) => r.entity(targets[i].id, targets[i].offset)));
  const list = await closedLoop(s.listOffsets.length, 1, (i) => withReader((r) => r.list('Order', s.listOffsets[i], LIST_LIMIT)));
  const diffTimes = [];
  for (const a of s.starts) {
    const t0 = performance.now();
    await withReader((r) => r.diff(a, a + DIFF_SPAN));
    diffTimes.push(performance.now() - t0);
  }
  await readers.close();
  log(`postgres: ingest ${(measured / ingestSeconds).toFixed(0)} tx/s, as-of p50 ${(asOf1.p50Ms * 1000).toFixed(0)} µs`);
  return { db, ingest: { txs: measured, seconds: ingestSeconds, txsPerSecond: measured / ingestSeconds, factsPerSecond: factsMeasured / ingestSeconds }, asOf1, asOf32, list, diff: { medianMs: median(diffTimes) } };
}

function sqlitePeer(w, s) {
  const db = SqlitePeer.open();
  const measured = Math.min(w.txs.length, plan.sqlTxMax);
  const t = performance.now();
  db.ingest(w.txs, 0, measured);
  const ingestSeconds = (performance.now() - t) / 1000;
  db.bulk(w.txs, measured, w.txs.length);
  const factsMeasured = w.txs.slice(0, measured).reduce((n, tx) => n + tx.ops.length, 0);
  const targets = s.targets;
  syncLoop(Math.min(targets.length, 2_000), (i) => db.entity(targets[i].id, targets[i].offset)); // warm-up
  const asOf1 = syncLoop(targets.length, (i) => db.entity(targets[i].id, targets[i].offset));
  const list = syncLoop(s.listOffsets.length, (i) => db.list('Order', s.listOffsets[i], LIST_LIMIT));
  const diffTimes = s.starts.map((a) => {
    const t0 = performance.now();
    db.diff(a, a + DIFF_SPAN);
    return performance.now() - t0;
  });
  db.close();
  log(`sqlite: ingest ${(measured / ingestSeconds).toFixed(0)} tx/s, as-of p50 ${(asOf1.p50Ms * 1000).toFixed(0)} µs`);
  return { ingest: { txs: measured, seconds: ingestSeconds, txsPerSecond: measured / ingestSeconds, factsPerSecond: factsMeasured / ingestSeconds }, asOf1, list, diff: { medianMs: median(diffTimes) } };
}

function datascriptPeer(w, s) {
  const peer = new DatascriptPeer();
  const t = performance.now();
  peer.ingest(w.txs, 0, w.txs.length);
  const seconds = (performance.now() - t) / 1000;
  let attrs = 0;
  const count = (v) => {
    if (v) for (const k of Object.keys(v)) if (!k.includes('/')) attrs++; // user attributes only
  };
  syncLoop(s.ids.length, (i) => peer.pull(s.ids[i])); // warm-up (JIT)
  const runs = [0, 1, 2].map(() => {
    attrs = 0;
    const t0 = performance.now();
    for (const id of s.ids) count(peer.pull(id));
    return { seconds: (performance.now() - t0) / 1000, attrs };
  });
  runs.sort((a, b) => a.attrs / a.seconds - b.attrs / b.seconds);
  const pull = { seconds: runs[1].seconds, perSecond: s.ids.length / runs[1].seconds };
  attrs = runs[1].attrs;
  log(`datascript: load ${(w.facts / seconds).toFixed(0)} facts/s, pull ${(attrs / pull.seconds).toFixed(0)} attrs/s`);
  return { ingest: { txs: w.txs.length, seconds, txsPerSecond: w.txs.length / seconds, factsPerSecond: w.facts / seconds }, pull: { ...pull, attrsPerSecond: attrs / pull.seconds } };
}

function replayPeer(w, s) {
  const peer = new ReplayPeer(w.txs);
  const reads = w.txs.length > 100_000 ? 3 : 10;
  const asOf1 = syncLoop(reads, (i) => peer.entity(s.targets[i].id, s.targets[i].offset));
  const list = syncLoop(Math.min(reads, s.listOffsets.length), (i) => peer.list('Order', s.listOffsets[i], LIST_LIMIT));
  const diffTimes = s.starts.slice(0, 3).map((a) => {
    const t0 = performance.now();
    peer.diff(a, a + DIFF_SPAN);
    return performance.now() - t0;
  });
  return { asOf1, list, diff: { medianMs: median(diffTimes) } };
}

async function runScale(scale, cluster) {
  log(`— scale ${scale.toLocaleString('en')} facts`);
  const w = generateWorkload(scale, 42);
  const parsed = inproc.parseAll(w.txs);
  const s = await strataInProcess(w, parsed, scale);
  const raw = await rawRocks(s.writes);
  const rawAppend = await rawLog(parsed, 1000, 5_000);
  log(`raw: ${raw.putsPerSecond.toFixed(0)} puts/s, log ${rawAppend.batchedTxsPerSecond.toFixed(0)} tx/s batched`);
  const pg = cluster ? await postgresPeer(cluster, w, s, scale) : null;
  const sqlite = sqlitePeer(w, s);
  const datascript = datascriptPeer(w, s);
  const replay = replayPeer(w, s);
  // Restart to ready and RSS of a fresh server process on this scale's data (cold caches).
  const t = performance.now();
  const reopened = await inproc.openBenchDb(s.dataDir);
  while (!reopened.db.isReady()) await new Promise((r) => setTimeout(r, 1));
  const inProcessReadyMs = performance.now() - t;
  await reopened.db.close();
  const server = await StrataServer.start(s.dataDir);
  const targets = s.targets.slice(0, plan.httpReads);
  const cold = await http.entityAsOf(server.origin, inproc.GRAPH, targets, 1);
  const rss = server.rssMb();
  results.rss.push({ scale, facts: w.facts, afterColdReadsMb: rss });
  const keep = scale === plan.scales[plan.scales.length - 1];
  const out = {
    facts: w.facts, txs: w.txs.length, entities: w.entities.length,
    strata: { ...s, targets: undefined, ids: undefined, writes: { batches: s.writes.batches, puts: s.writes.puts, keyBytes: s.writes.keyBytes, valueBytes: s.writes.valueBytes } },
    raw, rawAppend, pg: pg && { ...pg, db: undefined }, sqlite, datascript, replay,
    restart: { inProcessReadyMs, serverReadyMs: server.readyMs, coldHttpAsOf: cold },
  };
  results.scales[scale] = out;
  if (keep) return { w, parsed, s, pg, server };
  await server.stop();
  rmSync(s.dataDir, { recursive: true, force: true });
  return null;
}

/** HTTP reads, publishing and SSE against the server on the largest graph, with PostgreSQL alongside. */
async function serverMeasures(last, cluster) {
  const { w, s, pg, server } = last;
  // The same (entity, offset) pairs for Strata over HTTP and for PostgreSQL, both warmed by one pass;
  // PostgreSQL is measured again here, alternated with Strata, so that both ratios come from the same
  // moments of a shared machine. Empty-route ceilings of each client: GET /healthz, SELECT 1.
  const targets = s.targets.slice(0, plan.httpReads);
  const readers = pg ? await pgReaderPool(pg.db, 32) : null;
  const pgEntity = (c) => closedLoop(targets.length, c, (i) => readers.run((r) => r.entity(targets[i].id, targets[i].offset)));
  const pgEmpty = (c) => closedLoop(targets.length, c, () => readers.run((r) => r.empty()));
  await http.entityAsOf(server.origin, inproc.GRAPH, targets, 32);
  if (readers) await pgEntity(32);
  const measures = {
    strata1: () => http.entityAsOf(server.origin, inproc.GRAPH, targets, 1),
    pg1: readers && (() => pgEntity(1)),
    strata32: () => http.entityAsOf(server.origin, inproc.GRAPH, targets, 32),
    pg32: readers && (() => pgEntity(32)),
    empty1: () => http.emptyRoute(server.origin, targets.length, 1),
    pgEmpty1: readers && (() => pgEmpty(1)),
    empty32: () => http.emptyRoute(server.origin, targets.length, 32),
    pgEmpty32: readers && (() => pgEmpty(32)),
  };
  const runs = {};
  for (let round = 0; round < HTTP_ROUNDS; round++) {
    for (const [name, measure] of Object.entries(measures)) if (measure) (runs[name] ??= []).push(await measure());
  }
  await readers?.close();
  const medianRun = (rs) => (rs ? [...rs].sort((a, b) => a.perSecond - b.perSecond)[(rs.length - 1) >> 1] : null);
  results.http = { rounds: HTTP_ROUNDS, ...Object.fromEntries(Object.keys(measures).map((name) => [name, medianRun(runs[name])])) };
  const h = results.http;
  log(`http: c=1 ${h.strata1.perSecond.toFixed(0)}/s (postgres ${h.pg1?.perSecond.toFixed(0)}), c=32 ${h.strata32.perSecond.toFixed(0)}/s (postgres ${h.pg32?.perSecond.toFixed(0)}); empty route c=1 ${h.empty1.perSecond.toFixed(0)}/s, c=32 ${h.empty32.perSecond.toFixed(0)}/s`);

  // Publishing the same txs: transactions:batch and single wait=true at c=8, against PostgreSQL at c=8.
  const pubW = quick ? w : generateWorkload(100_000, 43);
  const batch = await http.publishBatches(server.origin, 'publish-batch', pubW.txs);
  const singles = pubW.txs.slice(0, plan.singleTxs);
  const single = await http.publishSingles(server.origin, 'publish-single', singles, 8);
  let pgPub = null;
  if (cluster) {
    const db = await cluster.database('publish');
    const t = performance.now();
    await db.ingest(pubW.txs, 0, pubW.txs.length, 8);
    pgPub = { txsPerSecond: pubW.txs.length / ((performance.now() - t) / 1000) };
  }
  results.publish = { txs: pubW.txs.length, facts: pubW.facts, batch, single, singleTxs: singles.length, pg: pgPub };
  log(`publish: batch ${batch.txsPerSecond.toFixed(0)} tx/s, single c=8 ${single.txsPerSecond.toFixed(0)} tx/s, postgres c=8 ${pgPub?.txsPerSecond.toFixed(0)} tx/s`);

  // SSE (bench/strata/sse.js): a small graph, 1,000 subscribers in 4 child processes, a publisher child
  // at 500 tx/s open loop; this server's CPU is read from /proc around the run.
  const sseW = generateWorkload(60_000, 44);
  await http.publishBatches(server.origin, 'sse', sseW.txs.slice(0, 200));
  let sse;
  try {
    sse = await sseLatency(server.origin, 'sse', sseW.txs.slice(200), { subscribers: 1000, workers: 4, txPerSecond: 500, seconds: plan.sseSeconds, serverPid: server.child.pid });
  } catch (err) {
    // Keep every other figure of the run: report the failure in place of the SSE figures.
    log(`sse failed: ${err.message}`);
    sse = { subscribers: 1000, workers: 4, events: 0, expectedEvents: NaN, complete: 0, achievedTxPerSecond: NaN, lagged: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, error: String(err.message) };
  }
  results.sse = sse;
  log(`sse: p50 ${sse.p50Ms.toFixed(1)} ms, p99 ${sse.p99Ms.toFixed(1)} ms at ${sse.achievedTxPerSecond.toFixed(0)} tx/s, ${sse.events}/${sse.expectedEvents} events, ${sse.complete}/${sse.subscribers} streams complete (${sse.seconds?.toFixed(0)} s)`);
  results.rss.push({ scale: plan.scales[plan.scales.length - 1], facts: w.facts, afterAllMb: server.rssMb() });
  await server.stop();
  rmSync(s.dataDir, { recursive: true, force: true });
}

// A signal ends the run through process.exit, so the 'exit' hooks stop PostgreSQL and the server.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));

async function main() {
  const cluster = postgresAvailable() ? await PostgresCluster.start() : null;
  if (!cluster) log('PostgreSQL 15 binaries not found: the PostgreSQL columns stay empty');
  let last = null;
  try {
    for (const scale of plan.scales) last = (await runScale(scale, cluster)) ?? last;
    await serverMeasures(last, cluster);
  } finally {
    cluster?.stopSync();
  }
  results.seconds = (performance.now() - started) / 1000;
  results.machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', memoryGb: totalmem() / 2 ** 30, node: process.version };
  const out = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
  writeFileSync(out, renderReport(results, { command: quick ? 'npm run bench -- --quick' : 'npm run bench' }));
  writeFileSync(fileURLToPath(new URL('../docs/benchmarks.json', import.meta.url)), `${JSON.stringify(results, null, 1)}\n`);
  log(`done in ${results.seconds.toFixed(0)} s: docs/benchmarks.md`);
}

/** `--render`: rewrite docs/benchmarks.md from the last run's docs/benchmarks.json (report changes only). */
async function render() {
  const { readFileSync } = await import('node:fs');
  const results = JSON.parse(readFileSync(fileURLToPath(new URL('../docs/benchmarks.json', import.meta.url)), 'utf8'));
  writeFileSync(fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url)), renderReport(results, { command: results.quick ? 'npm run bench -- --quick' : 'npm run bench' }));
}

(process.argv.includes('--render') ? render() : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
