// Incremental view maintenance against re-evaluating the view after every transaction, on a 100k-entity
// graph (25k customers, 75k orders, 75k placedBy edges). Per view: the cost of a small tx to the view
// (maintained incrementally, measured as throughput over a burst of txs) and the cost of evaluating the
// view's query from scratch as of that tx (what a system without incremental views pays per tx).
// Run: npx tsc -p bench/views.tsconfig.json && node dist/bench/views.js [customers] [ordersPerCustomer] [txs]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StrataDb } from '../src/core/strata-api.js';
import type { Op, TxInput, WireValue } from '../src/core/types.js';
import { openStrata } from '../src/strata.js';

const CUSTOMERS = Number(process.argv[2] ?? 25_000);
const ORDERS_PER_CUSTOMER = Number(process.argv[3] ?? 3);
const TXS = Number(process.argv[4] ?? 500);
const REEVALUATIONS = 7;
const OPS_PER_LOAD_TX = 2_000;
const G = 'bench';
const WAIT = { wait: true, timeoutMs: 600_000 } as const;

const VIEWS: Record<string, object> = {
  'open-orders': {
    find: ['?o', '?name'],
    where: [{ id: '?o', attr: 'status', value: 'open' }, { edge: 'placedBy', from: '?o', to: '?c' }, { id: '?c', attr: 'name', value: '?name' }],
  },
  'open-per-customer': {
    find: ['?c', { count: '?o' }, { sum: '?total' }],
    where: [{ id: '?o', attr: 'status', value: 'open' }, { edge: 'placedBy', from: '?o', to: '?c' }, { id: '?o', attr: 'total', value: '?total' }],
  },
};

/** mulberry32: a seeded PRNG, so every run measures the same graph and the same txs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const str = (v: string): WireValue => ({ t: 's', v });
const long = (v: number): WireValue => ({ t: 'l', v: String(v) });
const orders = CUSTOMERS * ORDERS_PER_CUSTOMER;

async function load(db: StrataDb): Promise<void> {
  const next = rng(1);
  const ops: Op[] = [{ op: 'defineAttr', attr: 'total', valueType: 'long', cardinality: 'one', unique: false }];
  for (let c = 0; c < CUSTOMERS; c++) ops.push({ op: 'create', id: `c${c}`, type: 'Customer' }, { op: 'set', id: `c${c}`, attr: 'name', value: str(`name-${c}`) });
  for (let o = 0; o < orders; o++) {
    ops.push({ op: 'create', id: `o${o}`, type: 'Order' }, { op: 'set', id: `o${o}`, attr: 'status', value: str(next() < 0.5 ? 'open' : 'closed') });
    ops.push({ op: 'set', id: `o${o}`, attr: 'total', value: long(1 + Math.floor(next() * 500)) });
    ops.push({ op: 'link', id: `p${o}`, type: 'placedBy', from: `o${o}`, to: `c${o % CUSTOMERS}` });
  }
  const txs: TxInput[] = [];
  for (let i = 0; i < ops.length; i += OPS_PER_LOAD_TX) txs.push({ id: null, meta: {}, ops: ops.slice(i, i + OPS_PER_LOAD_TX) });
  for (let i = 0; i < txs.length; i += 100) {
    const results = await db.transactBatch(G, txs.slice(i, i + 100), WAIT);
    if (results.some((r) => r.status !== 'committed')) throw new Error('loading the graph failed');
  }
}

/** Small txs: flip an order's status, place a new order, or rename a customer. */
function smallTxs(count: number, seed: number): TxInput[] {
  const next = rng(seed);
  const pick = (n: number): number => Math.floor(next() * n);
  return Array.from({ length: count }, (_, i): TxInput => {
    const roll = next();
    let ops: Op[];
    if (roll < 0.5) ops = [{ op: 'set', id: `o${pick(orders)}`, attr: 'status', value: str(next() < 0.5 ? 'open' : 'closed') }];
    else if (roll < 0.75) {
      const id = `n${seed}-${i}`;
      ops = [{ op: 'create', id, type: 'Order' }, { op: 'set', id, attr: 'status', value: str('open') }, { op: 'set', id, attr: 'total', value: long(1 + pick(500)) }, { op: 'link', id: `pn${seed}-${i}`, type: 'placedBy', from: id, to: `c${pick(CUSTOMERS)}` }];
    } else ops = [{ op: 'set', id: `c${pick(CUSTOMERS)}`, attr: 'name', value: str(`renamed-${seed}-${i}`) }];
    return { id: null, meta: {}, ops };
  });
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Waits until the view is maintained through `offset` (a rows read waits like minBasis). */
async function maintained(db: StrataDb, view: string, offset: number): Promise<void> {
  for (;;) {
    try {
      await db.viewRows(G, view, { at: offset }, { limit: 1 });
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'basis_not_reached') throw err; // still catching up: wait again
    }
  }
}

/** Publishes txs in one batch and waits until they are materialized (and maintained in `view`); ms. */
async function burst(db: StrataDb, txs: TxInput[], view: string | null): Promise<number> {
  const start = performance.now();
  const results = await db.transactBatch(G, txs, WAIT);
  if (view !== null) await maintained(db, view, results[results.length - 1]!.offset);
  return performance.now() - start;
}

async function measure(db: StrataDb, view: string, query: object, seed: number): Promise<string> {
  const defineStart = performance.now();
  const defined = await db.defineView(G, view, query, WAIT);
  await maintained(db, view, defined.offset);
  const defineMs = performance.now() - defineStart;
  const rows = (await db.query(G, { ...query, limit: 1 }, {})).rows.length === 0 ? 0 : (await db.query(G, query, {})).rows.length;

  // Incremental: a burst of small txs in one append (the log's group commit), until the view has them all;
  // then the same burst without the view (retired): the difference is what maintenance adds.
  const burstMs = await burst(db, smallTxs(TXS, seed), view);
  const last = (await db.graphInfo(G)).materializedOffset;
  await db.retireView(G, view, WAIT);
  const plainMs = await burst(db, smallTxs(TXS, seed + 1), null);
  const perTxMs = Math.max(burstMs - plainMs, 0) / TXS;

  // Re-evaluation: the view's query from scratch as of a tx, as a system without incremental views must.
  const reevalMs: number[] = [];
  for (let i = 0; i < REEVALUATIONS; i++) {
    const start = performance.now();
    await db.query(G, query, { at: last - i });
    reevalMs.push(performance.now() - start);
  }
  const upperPerTx = burstMs / TXS;
  return `| ${view} | ${rows} | ${defineMs.toFixed(0)} | ${perTxMs.toFixed(2)} | ${upperPerTx.toFixed(2)} | ${median(reevalMs).toFixed(1)} | ${(median(reevalMs) / perTxMs).toFixed(0)}× | ${(median(reevalMs) / upperPerTx).toFixed(0)}× |`;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-bench-views-'));
  // Re-evaluating a whole view needs room: its answer is far above the request limits.
  const db = await openStrata({ dataDir, limits: { queryRowsMax: 10_000_000, queryTimeMsMax: 600_000, queryBindingsMax: 100_000_000 } });
  try {
    const loadStart = performance.now();
    await load(db);
    console.log(`graph: ${CUSTOMERS} customers + ${orders} orders = ${CUSTOMERS + orders} nodes, ${orders} edges (loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s); ${TXS} small txs per view\n`);
    console.log('| view | rows | define (ms) | maintenance per tx (ms) | fold + maintenance per tx (ms) | re-evaluation (ms) | re-evaluation / maintenance | re-evaluation / (fold + maintenance) |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    let seed = 10;
    for (const [view, query] of Object.entries(VIEWS)) console.log(await measure(db, view, query, seed++ * 1000));
  } finally {
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
