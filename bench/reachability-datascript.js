// Reachability over a 10k-node graph, Strata's `reach` clause vs DataScript's recursive rule, on the
// same seeded edges, in one run: the comparison issue 4 asks for.
// Run: npm run build && node bench/reachability-datascript.js [nodes] [outDegree] (needs bench deps: npm --prefix bench install)

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ds from 'datascript';
import { openStrata } from '../dist/src/strata.js';
import { mulberry32 } from './workload.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const NODES = Number(args[0] ?? 10_000);
const OUT_DEGREE = Number(args[1] ?? 3);
const RUNS = 5;
// The unbounded recursive rule (null) is left out by default: on this graph DataScript's evaluation grew
// past a 4 GB heap and was killed after ~208 s (2026-11-22), while Strata's whole-graph reach takes
// ~0.05–0.25 s. Pass --unbounded to try it.
const DEPTHS = process.argv.includes('--unbounded') ? [3, 6, 9, null] : [3, 6, 9];

function makeEdges() {
  const next = mulberry32(42);
  const edges = [];
  for (let i = 0; i < NODES; i++) for (let k = 0; k < OUT_DEGREE; k++) edges.push([i, Math.floor(next() * NODES)]);
  return edges;
}

async function loadStrata(db, edges) {
  const ops = [];
  for (let i = 0; i < NODES; i++) ops.push({ op: 'create', id: `p${i}`, type: 'Person' });
  edges.forEach(([from, to], i) => ops.push({ op: 'link', id: `k${i}`, type: 'knows', from: `p${from}`, to: `p${to}` }));
  const txs = [];
  for (let i = 0; i < ops.length; i += 2_000) txs.push({ id: null, meta: {}, ops: ops.slice(i, i + 2_000) });
  const results = await db.transactBatch('bench', txs, { wait: true, timeoutMs: 120_000 });
  if (results.some((r) => r.status !== 'committed')) throw new Error('loading the graph failed');
}

function loadDatascript(edges) {
  const conn = ds.create_conn({ 'person/id': { ':db/unique': ':db.unique/identity' }, knows: { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' } });
  const people = Array.from({ length: NODES }, (_, i) => ({ ':db/id': -(i + 1), 'person/id': `p${i}` }));
  ds.transact(conn, people);
  const db0 = ds.db(conn);
  const eid = (i) => ds.entity(db0, ['person/id', `p${i}`]).get(':db/id');
  const ids = Array.from({ length: NODES }, (_, i) => eid(i));
  ds.transact(conn, edges.map(([a, b]) => [':db/add', ids[a], 'knows', ids[b]]));
  return { db: ds.db(conn), ids };
}

/** reach(a, b) over `knows`; bounded depth by unrolling (DataScript rules have no depth argument). */
function rules(depth) {
  if (depth === null) return '[[(reach ?a ?b) [?a "knows" ?b]] [(reach ?a ?b) [?a "knows" ?c] (reach ?c ?b)]]';
  const levels = [];
  for (let d = 1; d <= depth; d++) {
    const hops = Array.from({ length: d }, (_, k) => `[?x${k} "knows" ?x${k + 1}]`).join(' ');
    levels.push(`[(reach ?x0 ?x${d}) ${hops}]`);
  }
  return `[${levels.join(' ')}]`;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn, runs) {
  const ms = [];
  let result;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    result = await fn();
    ms.push(performance.now() - t);
  }
  return { ms: median(ms), result };
}

const dir = await mkdtemp(join(tmpdir(), 'strata-reach-'));
try {
  const edges = makeEdges();
  const db = await openStrata({ dataDir: dir });
  await loadStrata(db, edges);
  const { db: dsdb, ids } = loadDatascript(edges);
  console.log(`${NODES} nodes, ${edges.length} knows edges; median of ${RUNS} runs; source p0`);
  console.log('| depth | reached | Strata reach | DataScript rule | ratio |');
  console.log('|---|---|---|---|---|');
  for (const depth of DEPTHS) {
    const reach = { from: 'p0', edge: 'knows', to: '?f', ...(depth === null ? {} : { maxDepth: depth }) };
    const strata = await time(() => db.query('bench', { find: [{ count: '?f' }], where: [{ reach }] }, {}), RUNS);
    const q = '[:find (count-distinct ?b) :in $ % ?s :where (reach ?s ?b)]';
    const datascript = await time(() => ds.q(q, dsdb, rules(depth), ids[0]), depth === null ? 1 : RUNS);
    const reached = strata.result.rows[0][0];
    const dsReached = datascript.result[0]?.[0] ?? 0;
    if (reached !== dsReached) console.log(`  (counts differ: Strata ${reached}, DataScript ${dsReached})`);
    console.log(`| ${depth ?? 'all'} | ${reached} | ${strata.ms.toFixed(1)} ms | ${datascript.ms.toFixed(1)} ms | ${(datascript.ms / strata.ms).toFixed(1)}× |`);
  }
  await db.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
