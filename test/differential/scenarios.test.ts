// Hand-written scenarios for the corners of DESIGN.md §3–§4 that random streams rarely reach, replayed
// through the engine (HTTP inject) and the reference fold side by side, each in its own graph, and then
// probed exhaustively: every id and every type listing at every offset, every pair of offsets diffed
// both ways, every history, every tx record.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStrata } from '../../src/strata.js';
import { buildApp } from '../../src/api/app.js';
import { injectHttp, type Http } from '../helpers/http.js';
import { Prober, comparePublishReply, replyTimeMs, summarizeFailures } from '../helpers/probes.js';
import { ReferenceModel, type OpJson, type Scalar, type TxBody } from '../reference/model.js';

const SCHEMA: OpJson[] = [
  { op: 'defineAttr', attr: 'tags', valueType: 'string', cardinality: 'many', unique: false },
  { op: 'defineAttr', attr: 'email', valueType: 'string', cardinality: 'one', unique: true },
  { op: 'defineAttr', attr: 'qty', valueType: 'long', cardinality: 'one', unique: false },
  { op: 'defineAttr', attr: 'price', valueType: 'double', cardinality: 'one', unique: false },
  { op: 'defineAttr', attr: 'codes', valueType: 'long', cardinality: 'many', unique: true },
  { op: 'defineAttr', attr: 'flags', valueType: 'boolean', cardinality: 'many', unique: false },
  { op: 'defineType', type: 'Order', kind: 'node', required: ['status'] },
];
const CUSTOMERS: OpJson[] = [
  { op: 'create', id: 'c1', type: 'Customer' },
  { op: 'create', id: 'c2', type: 'Customer' },
];
const tx = (...ops: OpJson[]): TxBody => ({ ops });
const keyed = (id: string, ...ops: OpJson[]): TxBody => ({ id, ops });

const SCENARIOS: Record<string, TxBody[]> = {
  'entity-exists-and-id-reuse': [
    tx(...SCHEMA, ...CUSTOMERS),
    tx({ op: 'create', id: 'c1', type: 'Customer' }),
    tx({ op: 'terminate', id: 'c2' }),
    tx({ op: 'set', id: 'c1', attr: 'a', value: 1 }, { op: 'create', id: 'c2', type: 'X' }),
    tx({ op: 'create', id: 'c3', type: 'Customer' }, { op: 'link', id: 'l1', type: 'likes', from: 'c1', to: 'c3' }),
    tx({ op: 'link', id: 'c3', type: 'likes', from: 'c1', to: 'c1' }),
    tx({ op: 'create', id: 'l1', type: 'Customer' }),
    tx({ op: 'create', id: 'x', type: 'T' }, { op: 'create', id: 'x', type: 'T' }),
    tx({ op: 'create', id: 'x', type: 'T' }, { op: 'set', id: 'x', attr: 'n', value: 'free again' }),
  ],
  'not-found-terminated-field-order': [
    tx(...SCHEMA, ...CUSTOMERS, { op: 'create', id: 'dead', type: 'T' }),
    tx({ op: 'terminate', id: 'dead' }),
    tx({ op: 'set', id: 'c1', attr: 'n', value: 1 }, { op: 'set', id: 'nope', attr: 'a', value: 1 }),
    tx({ op: 'unset', id: 'nope', attr: 'a' }),
    tx({ op: 'retract', id: 'nope', attr: 'tags', value: 'x' }),
    tx({ op: 'add', id: 'dead', attr: 'tags', value: 'x' }),
    tx({ op: 'retract', id: 'dead', attr: 'tags', value: 'x' }),
    tx({ op: 'unset', id: 'dead', attr: 'a' }),
    tx({ op: 'terminate', id: 'dead' }),
    tx({ op: 'link', id: 'e1', type: 'likes', from: 'nope', to: 'dead' }),
    tx({ op: 'link', id: 'e1', type: 'likes', from: 'dead', to: 'nope' }),
    tx({ op: 'link', id: 'e1', type: 'likes', from: 'c1', to: 'dead' }),
    tx({ op: 'link', id: 'c2', type: 'likes', from: 'dead', to: 'nope' }),
    tx({ op: 'terminate', id: 'c2' }, { op: 'set', id: 'c2', attr: 'a', value: 1 }),
    tx({ op: 'create', id: 'y', type: 'T' }, { op: 'terminate', id: 'y' }, { op: 'terminate', id: 'y' }),
  ],
  'type-and-cardinality': [
    tx(...SCHEMA, ...CUSTOMERS, { op: 'link', id: 'e1', type: 'likes', from: 'c1', to: 'c2' }),
    tx({ op: 'link', id: 'e2', type: 'likes', from: 'e1', to: 'c2' }),
    tx({ op: 'link', id: 'e2', type: 'likes', from: 'c1', to: 'e1' }),
    tx({ op: 'set', id: 'c1', attr: 'qty', value: 'three' }),
    tx({ op: 'set', id: 'c1', attr: 'qty', value: 1.5 }),
    tx({ op: 'set', id: 'c1', attr: 'price', value: true }),
    tx({ op: 'set', id: 'c1', attr: 'email', value: 7 }),
    tx({ op: 'add', id: 'c1', attr: 'tags', value: 1 }),
    tx({ op: 'retract', id: 'c1', attr: 'codes', value: 'x' }),
    tx({ op: 'add', id: 'c1', attr: 'flags', value: 'yes' }),
    tx({ op: 'set', id: 'c1', attr: 'price', value: 3 }, { op: 'set', id: 'e1', attr: 'qty', value: 2 }, { op: 'set', id: 'c1', attr: 'qty', value: -4 }),
    tx({ op: 'set', id: 'c1', attr: 'free', value: 'x' }, { op: 'set', id: 'c1', attr: 'free', value: false }, { op: 'set', id: 'c2', attr: 'free', value: 2.5 }),
    tx({ op: 'add', id: 'c1', attr: 'undefinedAttr', value: 1 }),
    tx({ op: 'add', id: 'c1', attr: 'qty', value: 1 }),
    tx({ op: 'retract', id: 'c1', attr: 'email', value: 'a' }),
    tx({ op: 'set', id: 'c1', attr: 'tags', value: 'a' }),
    tx({ op: 'unset', id: 'c1', attr: 'tags' }),
    tx({ op: 'add', id: 'c1', attr: 'flags', value: true }, { op: 'add', id: 'c1', attr: 'flags', value: false }, { op: 'add', id: 'c1', attr: 'codes', value: 10 }, { op: 'add', id: 'c1', attr: 'codes', value: 9 }),
  ],
  'unique': [
    tx(...SCHEMA, ...CUSTOMERS),
    tx({ op: 'set', id: 'c1', attr: 'email', value: 'a@x' }, { op: 'add', id: 'c1', attr: 'codes', value: 5 }),
    tx({ op: 'set', id: 'c2', attr: 'email', value: 'a@x' }),
    tx({ op: 'add', id: 'c2', attr: 'codes', value: 5 }),
    tx({ op: 'set', id: 'c1', attr: 'email', value: 'a@x' }, { op: 'add', id: 'c1', attr: 'codes', value: 5 }),
    tx({ op: 'unset', id: 'c1', attr: 'email' }, { op: 'set', id: 'c2', attr: 'email', value: 'a@x' }),
    tx({ op: 'terminate', id: 'c1' }, { op: 'create', id: 'c3', type: 'C' }, { op: 'add', id: 'c3', attr: 'codes', value: 5 }),
    tx({ op: 'retract', id: 'c3', attr: 'codes', value: 5 }, { op: 'add', id: 'c2', attr: 'codes', value: 5 }),
  ],
  'expect': [
    tx(...SCHEMA, ...CUSTOMERS),
    tx({ op: 'set', id: 'c1', attr: 'status', value: 'open' }, { op: 'add', id: 'c1', attr: 'tags', value: 'b' }, { op: 'add', id: 'c1', attr: 'tags', value: 'a' }),
    tx({ op: 'expect', id: 'c1', attr: 'status', value: 'open' }),
    tx({ op: 'expect', id: 'c1', attr: 'tags', value: ['b', 'a'] }),
    tx({ op: 'expect', id: 'c2', attr: 'tags', value: [] }, { op: 'expect', id: 'c2', attr: 'tags', value: null }),
    tx({ op: 'expect', id: 'never', attr: 'x', value: null }),
    tx({ op: 'expect', id: 'never', attr: 'x', value: 1 }),
    tx({ op: 'expect', id: 'c1', attr: 'status', value: 'closed' }),
    tx({ op: 'expect', id: 'c1', attr: 'status', value: null }),
    tx({ op: 'expect', id: 'c1', attr: 'tags', value: ['a'] }),
    tx({ op: 'expect', id: 'c1', attr: 'tags', value: null }),
    tx({ op: 'set', id: 'c1', attr: 'status', value: 'x' }, { op: 'expect', id: 'c1', attr: 'status', value: 'x' }),
    tx({ op: 'set', id: 'c1', attr: 'n', value: 2 }, { op: 'expect', id: 'c1', attr: 'n', value: 2 }, { op: 'expect', id: 'c1', attr: 'n', value: '2' }),
    tx({ op: 'terminate', id: 'c1' }, { op: 'expect', id: 'c1', attr: 'status', value: null }),
    tx({ op: 'expect', id: 'c1', attr: 'status', value: 'x' }),
  ],
  'required': [
    tx(...SCHEMA, ...CUSTOMERS),
    tx({ op: 'create', id: 'o1', type: 'Order' }),
    tx({ op: 'create', id: 'o1', type: 'Order' }, { op: 'set', id: 'o1', attr: 'status', value: 'open' }),
    tx({ op: 'set', id: 'c1', attr: 'a', value: 1 }, { op: 'unset', id: 'o1', attr: 'status' }),
    tx({ op: 'unset', id: 'o1', attr: 'status' }, { op: 'set', id: 'o1', attr: 'status', value: 'x' }),
    tx({ op: 'create', id: 'o2', type: 'Order' }, { op: 'terminate', id: 'o2' }),
    tx({ op: 'create', id: 'o3', type: 'Order' }, { op: 'set', id: 'ghost', attr: 'a', value: 1 }),
    tx({ op: 'create', id: 'o3', type: 'Order' }, { op: 'set', id: 'o3', attr: 'status', value: 'open' }),
    tx({ op: 'defineType', type: 'contains', kind: 'edge', required: ['qty'] }),
    tx({ op: 'link', id: 'k1', type: 'contains', from: 'o1', to: 'c1' }),
    tx({ op: 'link', id: 'k1', type: 'contains', from: 'o1', to: 'c1' }, { op: 'set', id: 'k1', attr: 'qty', value: 2 }),
    tx({ op: 'unset', id: 'k1', attr: 'qty' }),
    tx({ op: 'terminate', id: 'o1' }),
  ],
  'schema-conflict': [
    tx(...SCHEMA, ...CUSTOMERS),
    tx({ op: 'set', id: 'c1', attr: 'name', value: 'ann' }, { op: 'set', id: 'c2', attr: 'name', value: 5 }),
    tx({ op: 'defineAttr', attr: 'name', valueType: 'string', cardinality: 'one', unique: false }),
    tx({ op: 'defineAttr', attr: 'name', valueType: 'long', cardinality: 'one', unique: false }),
    tx({ op: 'set', id: 'c1', attr: 'rank', value: 2 }, { op: 'set', id: 'c2', attr: 'rank', value: 2 }),
    tx({ op: 'defineAttr', attr: 'rank', valueType: 'double', cardinality: 'one', unique: false }),
    tx({ op: 'defineAttr', attr: 'rank', valueType: 'long', cardinality: 'one', unique: true }),
    tx({ op: 'defineAttr', attr: 'rank', valueType: 'boolean', cardinality: 'one', unique: false }),
    tx({ op: 'create', id: 'k1', type: 'Kind' }),
    tx({ op: 'defineType', type: 'Kind', kind: 'node', required: ['z'] }),
    tx({ op: 'set', id: 'k1', attr: 'z', value: 1 }, { op: 'defineType', type: 'Kind', kind: 'node', required: ['z'] }),
    tx({ op: 'terminate', id: 'c2' }, { op: 'defineAttr', attr: 'name', valueType: 'string', cardinality: 'one', unique: true }),
    tx({ op: 'set', id: 'c1', attr: 'name', value: 3 }),
    tx({ op: 'defineAttr', attr: 'name', valueType: 'string', cardinality: 'one', unique: true }),
    tx({ op: 'defineAttr', attr: 'email', valueType: 'string', cardinality: 'one', unique: false }),
    tx({ op: 'defineAttr', attr: 'email', valueType: 'string', cardinality: 'one', unique: true }),
    // Redefined and back inside one tx: no net schema change in the tx's report.
    tx(
      { op: 'defineAttr', attr: 'email', valueType: 'string', cardinality: 'one', unique: false },
      { op: 'defineAttr', attr: 'email', valueType: 'string', cardinality: 'one', unique: true },
    ),
  ],
  'duplicates': [
    tx(...SCHEMA, ...CUSTOMERS),
    keyed('k1', { op: 'set', id: 'ghost', attr: 'a', value: 1 }),
    keyed('k1', { op: 'set', id: 'c1', attr: 'a', value: 1 }),
    keyed('k1', { op: 'set', id: 'c1', attr: 'a', value: 2 }),
    keyed('k2', { op: 'set', id: 'c1', attr: 'a', value: 3 }),
    keyed('k1', { op: 'set', id: 'c1', attr: 'a', value: 1 }),
  ],
  // Keys are scoped per graph: k1 committed in the `duplicates` graph commits here too.
  'duplicates-other-graph': [keyed('k1', ...CUSTOMERS), keyed('k1', { op: 'set', id: 'c1', attr: 'a', value: 1 })],
  'no-ops-and-lifecycles': [
    tx(...SCHEMA, ...CUSTOMERS),
    tx({ op: 'set', id: 'c1', attr: 'a', value: 1 }, { op: 'add', id: 'c1', attr: 'tags', value: 'x' }),
    tx({ op: 'set', id: 'c1', attr: 'a', value: 1 }, { op: 'add', id: 'c1', attr: 'tags', value: 'x' }, { op: 'retract', id: 'c1', attr: 'tags', value: 'absent' }, { op: 'unset', id: 'c1', attr: 'b' }),
    tx({ op: 'set', id: 'c1', attr: 'a', value: 2 }, { op: 'set', id: 'c1', attr: 'a', value: 1 }),
    tx({ op: 'add', id: 'c1', attr: 'tags', value: 'y' }, { op: 'retract', id: 'c1', attr: 'tags', value: 'y' }),
    tx({ op: 'create', id: 'tmp', type: 'T' }, { op: 'set', id: 'tmp', attr: 'a', value: 1 }, { op: 'link', id: 'tmpe', type: 'likes', from: 'tmp', to: 'c1' }, { op: 'terminate', id: 'tmp' }),
    tx({ op: 'retract', id: 'c1', attr: 'tags', value: 'x' }),
    tx({ op: 'set', id: 'c1', attr: 'a', value: 1.25 }, { op: 'set', id: 'c1', attr: 's', value: '1.25' }),
  ],
  'cascade-and-self-loops': [
    tx(...SCHEMA, ...CUSTOMERS),
    tx(
      { op: 'create', id: 'o1', type: 'Order' },
      { op: 'set', id: 'o1', attr: 'status', value: 'open' },
      { op: 'add', id: 'o1', attr: 'tags', value: 'rush' },
      { op: 'add', id: 'o1', attr: 'tags', value: 'big' },
      { op: 'link', id: 'p1', type: 'placedBy', from: 'o1', to: 'c1' },
      { op: 'link', id: 'p2', type: 'likes', from: 'c2', to: 'o1' },
      { op: 'link', id: 'self', type: 'likes', from: 'c2', to: 'c2' },
      { op: 'link', id: 'oself', type: 'likes', from: 'o1', to: 'o1' },
      { op: 'set', id: 'p1', attr: 'w', value: 1.5 },
    ),
    tx({ op: 'terminate', id: 'p2' }, { op: 'link', id: 'p3', type: 'likes', from: 'c1', to: 'o1' }),
    tx({ op: 'terminate', id: 'o1' }),
    tx({ op: 'set', id: 'p1', attr: 'w', value: 2 }),
    tx({ op: 'terminate', id: 'p3' }),
    tx({ op: 'terminate', id: 'c2' }, { op: 'create', id: 'c4', type: 'Customer' }, { op: 'link', id: 'p4', type: 'likes', from: 'c4', to: 'c1' }),
  ],
  'odd-ids': [
    tx(...SCHEMA, { op: 'create', id: 'a/b', type: 'Path' }, { op: 'create', id: 'x y%z', type: 'Path' }, { op: 'create', id: 'é✓', type: 'Path' }),
    tx({ op: 'link', id: 'a/b->x', type: 'likes', from: 'a/b', to: 'x y%z' }, { op: 'set', id: 'é✓', attr: 'k', value: 'v:w' }),
    tx({ op: 'set', id: 'a/b', attr: 'code', value: '5' }, { op: 'set', id: 'x y%z', attr: 'code', value: 5 }),
    tx({ op: 'terminate', id: 'a/b' }),
  ],
};

/** Where filters worth asking of a scenario: every (attr, value) any entity ever held, quoted and not. */
function whereFilters(model: ReferenceModel): { attr: string; value: Scalar; quote: boolean }[] {
  const seen = new Map<string, { attr: string; value: Scalar; quote: boolean }>();
  for (let at = 0; at <= model.latestOffset; at++) {
    for (const e of model.sliceAt(at).entities.values()) {
      for (const [attr, v] of e.attrs) {
        for (const value of Array.isArray(v) ? v : [v]) {
          for (const quote of typeof value === 'string' ? [false, true] : [false]) seen.set(JSON.stringify([attr, value, quote]), { attr, value, quote });
        }
      }
    }
  }
  return [...seen.values()];
}

async function runScenario(http: Http, graph: string, txs: TxBody[]): Promise<Prober> {
  const model = new ReferenceModel();
  const prober = new Prober(http, model, graph);
  for (const body of txs) {
    const res = await http('POST', `/v1/graphs/${graph}/transactions`, body);
    const rec = model.publish(body);
    const time = replyTimeMs(res);
    if (rec.outcome.status === 'committed' && time !== undefined) model.setTime(rec.offset, time);
    const mismatch = comparePublishReply(rec, res);
    if (mismatch !== null) prober.fail('publish', mismatch);
  }
  await prober.loadTimes();
  const ids = [...model.allIds(), 'never-used-id'];
  const types = model.typesUsed();
  const wheres = whereFilters(model);
  for (let at = 0; at <= model.latestOffset; at++) {
    await prober.tx(at);
    for (const id of ids) {
      await prober.entity(id, at);
      await prober.history(id, at);
    }
    for (const type of types) await prober.list(at, { type }, 1);
    for (const w of wheres) await prober.list(at, { where: [w] });
    for (let other = 0; other <= model.latestOffset; other++) await prober.diff(at, other);
  }
  return prober;
}

test('scenarios: hand-written corner cases agree with the reference fold at every offset', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-scenarios-'));
  const db = await openStrata({ dataDir: dir });
  const app = await buildApp({ db });
  try {
    const http = injectHttp(app);
    const failures: string[] = [];
    let probes = 0;
    for (const [name, txs] of Object.entries(SCENARIOS)) {
      const prober = await runScenario(http, `s-${name}`, txs);
      probes += prober.total;
      failures.push(...prober.failures.map((f) => `${name}: ${f}`));
    }
    console.log(`scenarios: ${Object.keys(SCENARIOS).length} scenarios, ${probes} probes, ${failures.length} disagreements`);
    assert.equal(failures.length, 0, `scenario disagreements:\n${summarizeFailures(failures)}`);
  } finally {
    await app.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('static errors are rejected with 400 before publishing: nothing is logged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-static-'));
  const db = await openStrata({ dataDir: dir });
  const app = await buildApp({ db });
  try {
    const http = injectHttp(app);
    const first = await http('POST', '/v1/graphs/g1/transactions', tx({ op: 'create', id: 'c1', type: 'Customer' }));
    assert.equal(first.status, 200, first.text);
    const bad: [string, unknown][] = [
      ['null value', { ops: [{ op: 'set', id: 'c1', attr: 'a', value: null }] }],
      ['unknown op', { ops: [{ op: 'explode', id: 'c1' }] }],
      ['empty id', { ops: [{ op: 'create', id: '', type: 'T' }] }],
      ['id of 257 chars', { ops: [{ op: 'create', id: 'x'.repeat(257), type: 'T' }] }],
      ['control character in id', { ops: [{ op: 'create', id: 'a\u0001b', type: 'T' }] }],
      ['idempotency key of 129 chars', { id: 'k'.repeat(129), ops: [{ op: 'create', id: 'c9', type: 'T' }] }],
      ['ops missing', { meta: {} }],
      ['op without id', { ops: [{ op: 'set', attr: 'a', value: 1 }] }],
    ];
    const problems: string[] = [];
    for (const [name, body] of bad) {
      const res = await http('POST', '/v1/graphs/g1/transactions', body);
      const code = (res.body as { error?: { code?: unknown } } | undefined)?.error?.code;
      if (res.status !== 400 || typeof code !== 'string') problems.push(`${name}: expected 400 with an error code, got ${res.status} ${res.text.slice(0, 200)}`);
    }
    const badGraph = await http('POST', '/v1/graphs/Bad_Name/transactions', tx({ op: 'create', id: 'c1', type: 'Customer' }));
    if (badGraph.status !== 400) problems.push(`invalid graph name: expected 400, got ${badGraph.status} ${badGraph.text.slice(0, 200)}`);
    const next = await http('POST', '/v1/graphs/g1/transactions', tx({ op: 'create', id: 'c2', type: 'Customer' }));
    if ((next.body as { offset?: number } | undefined)?.offset !== 1) problems.push(`the rejected txs took offsets: next tx got ${next.text}`);
    assert.deepEqual(problems, []);
  } finally {
    await app.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a listing cursor keeps the first page\'s basis while the log moves on', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-cursor-'));
  const db = await openStrata({ dataDir: dir });
  const app = await buildApp({ db });
  try {
    const http = injectHttp(app);
    const model = new ReferenceModel();
    const prober = new Prober(http, model);
    const publish = async (body: TxBody) => {
      const res = await http('POST', '/v1/graphs/g1/transactions', body);
      const mismatch = comparePublishReply(model.publish(body), res);
      if (mismatch !== null) prober.fail('publish', mismatch);
    };
    await publish(tx(...['m1', 'm2', 'm3', 'm4'].map((id): OpJson => ({ op: 'create', id, type: 'Customer' }))));
    const first = await http('GET', '/v1/graphs/g1/entities?type=Customer&limit=2');
    const basis = model.latestOffset;
    const ids = ((first.body as { items: { id: string }[] }).items ?? []).map((e) => e.id);
    let next = (first.body as { next: string | null }).next;
    // The log moves on between pages: entities before and after the cursor appear, one is terminated.
    await publish(tx({ op: 'create', id: 'a0', type: 'Customer' }, { op: 'create', id: 'z9', type: 'Customer' }, { op: 'terminate', id: 'm4' }));
    while (next !== null) {
      const page = await http('GET', `/v1/graphs/g1/entities?type=Customer&limit=2&cursor=${encodeURIComponent(next)}`);
      const b = page.body as { basis: number; items: { id: string }[]; next: string | null };
      if (page.status !== 200 || b.basis !== basis || page.headers['strata-basis'] !== String(basis)) prober.fail('list', `page after the log moved: ${page.status} basis ${String(b.basis)}, expected ${basis}`);
      ids.push(...(b.items ?? []).map((e) => e.id));
      next = page.status === 200 ? b.next : null;
    }
    assert.deepEqual(prober.failures, []);
    assert.deepEqual(ids.sort(), model.list(basis, { type: 'Customer' }).map((e) => e.id));
  } finally {
    await app.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
