// Reachability over a 10k-node graph: Strata's `reach` clause (BFS on the adjacency index in RocksDB)
// against a recursive rule evaluated naively (bottom-up fixpoint, in memory) on the same edges.
// Run: npx tsc -p bench/reachability.tsconfig.json && node dist/bench/reachability.js [nodes] [outDegree]
// DataScript's recursive rule joins this comparison with the bench package (issue 4).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StrataDb } from '../src/core/strata-api.js';
import type { Op } from '../src/core/types.js';
import { openStrata } from '../src/strata.js';

const NODES = Number(process.argv[2] ?? 10_000);
const OUT_DEGREE = Number(process.argv[3] ?? 3);
const RUNS = 7;
/** The naive fixpoint takes seconds on the whole graph: fewer runs keep the bench under a minute. */
const NAIVE_RUNS = 3;
const OPS_PER_TX = 2_000;

/** mulberry32: a seeded PRNG, so every run measures the same graph. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A sparse random digraph: each node links to OUT_DEGREE random others over `knows`. */
function makeEdges(): [number, number][] {
  const next = rng(42);
  const edges: [number, number][] = [];
  for (let i = 0; i < NODES; i++) for (let k = 0; k < OUT_DEGREE; k++) edges.push([i, Math.floor(next() * NODES)]);
  return edges;
}

async function load(db: StrataDb, edges: [number, number][]): Promise<void> {
  const ops: Op[] = [];
  for (let i = 0; i < NODES; i++) ops.push({ op: 'create', id: `p${i}`, type: 'Person' });
  edges.forEach(([from, to], i) => ops.push({ op: 'link', id: `k${i}`, type: 'knows', from: `p${from}`, to: `p${to}` }));
  const txs = [];
  for (let i = 0; i < ops.length; i += OPS_PER_TX) txs.push({ id: null, meta: {}, ops: ops.slice(i, i + OPS_PER_TX) });
  const results = await db.transactBatch('bench', txs, { wait: true, timeoutMs: 120_000 });
  if (results.some((r) => r.status !== 'committed')) throw new Error('loading the graph failed');
}

/** The naive evaluation of reach(s, y) :- knows(s, y). reach(s, y) :- reach(s, z), knows(z, y). */
function naiveFixpoint(edges: [number, number][], source: number, maxDepth: number): number {
  let reach = new Set<number>();
  for (let round = 0; round < maxDepth; round++) {
    const next = new Set<number>();
    for (const [x, y] of edges) if (x === source) next.add(y); // the base rule, re-derived every round
    for (const z of reach) for (const [x, y] of edges) if (x === z) next.add(y); // the recursive rule, a full join
    if (next.size === reach.size) break; // no new fact: the fixpoint
    reach = next;
  }
  return reach.size;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time<T>(fn: () => Promise<T> | T, runs = RUNS): Promise<{ ms: number[]; value: T }> {
  const ms: number[] = [];
  let value!: T;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    value = await fn();
    ms.push(performance.now() - start);
  }
  return { ms, value };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-bench-reach-'));
  const db = await openStrata({ dataDir });
  try {
    const edges = makeEdges();
    const loadStart = performance.now();
    await load(db, edges);
    console.log(`graph: ${NODES} nodes, ${edges.length} edges (loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s)\n`);
    console.log('| query | reached | strata first (ms) | strata median (ms) | naive fixpoint median (ms) | naive / strata |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const maxDepth of [3, 6, 1_000]) {
      const query = { find: [{ count: '?f' }], where: [{ reach: { from: 'p0', edge: 'knows', to: '?f', maxDepth } }] };
      const strata = await time(async () => (await db.query('bench', query, {})).rows[0]![0] as number);
      const naive = await time(() => naiveFixpoint(edges, 0, maxDepth), NAIVE_RUNS);
      if (naive.value !== strata.value) throw new Error(`answers differ at maxDepth ${maxDepth}: ${strata.value} vs ${naive.value}`);
      const ratio = median(naive.ms) / median(strata.ms);
      console.log(`| reach from p0, maxDepth ${maxDepth} | ${strata.value} | ${strata.ms[0]!.toFixed(1)} | ${median(strata.ms).toFixed(1)} | ${median(naive.ms).toFixed(1)} | ${ratio.toFixed(1)}× |`);
    }
    // Every node as a source: one bulk read of the adjacency index, then 10k bounded searches in memory.
    // The naive fixpoint is left out here: per source it is the row above, times 10k.
    const everyone = { find: [{ count: '?f' }], where: [{ reach: { from: '?p', edge: 'knows', to: '?f', maxDepth: 2 } }] };
    const all = await time(async () => (await db.query('bench', everyone, {})).rows[0]![0] as number, 3);
    console.log(`| reach from every node, maxDepth 2 (pairs) | ${all.value} | ${all.ms[0]!.toFixed(1)} | ${median(all.ms).toFixed(1)} | — | — |`);
  } finally {
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
