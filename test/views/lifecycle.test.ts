// A view's life through the library: definition as data (identical redefinition is a no-op, a new query
// is a new definition), retirement, rows as of any offset since, restart without replay, lagging reads
// that wait, and every error of the view surface (static checks before anything is logged).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryLogAdapter } from '../../src/broker-adapters/memory.js';
import { encodeTx } from '../../src/codec/avro.js';
import type { StrataDb } from '../../src/core/strata-api.js';
import type { Op, TxInput } from '../../src/core/types.js';
import { openStrata } from '../../src/strata.js';
import { withDb } from '../query/helpers.js';
import { allViewRows, collectDeltas, replay, rowSet, WAIT } from './helpers.js';

const OPEN = { find: ['?o'], where: [{ id: '?o', attr: 'status', value: 'open' }] };
const CLOSED = { find: ['?o'], where: [{ id: '?o', attr: 'status', value: 'closed' }] };

const order = (id: string, status: string): Op[] => [
  { op: 'create', id, type: 'Order' },
  { op: 'set', id, attr: 'status', value: { t: 's', v: status } },
];
const setStatus = (id: string, status: string): Op => ({ op: 'set', id, attr: 'status', value: { t: 's', v: status } });

async function tx(db: StrataDb, ...ops: Op[]): Promise<number> {
  const r = await db.transact('g', { id: null, meta: {}, ops }, WAIT);
  assert.equal(r.status, 'committed', JSON.stringify(r));
  return r.offset;
}

async function rows(db: StrataDb, view: string, at: number): Promise<string[]> {
  return rowSet(await allViewRows(db, 'g', view, at));
}

describe('view definitions are data', () => {
  it('redefinition starts a new definition at its offset; identical redefinition is a no-op; retire ends the rows', async () => {
    await withDb(async (db) => {
      await tx(db, ...order('o1', 'open'), ...order('o2', 'closed'));
      const defined = (await db.defineView('g', 'orders', OPEN, WAIT)).offset;
      const same = await db.defineView('g', 'orders', { where: OPEN.where, find: OPEN.find }, WAIT); // same query, other key order
      assert.equal((await db.tx('g', same.offset))!.changes.length, 0, 'an identical definition changes nothing');
      const redefined = (await db.defineView('g', 'orders', CLOSED, WAIT)).offset;
      const moved = await tx(db, setStatus('o1', 'closed'));
      const retired = (await db.retireView('g', 'orders', WAIT)).offset;

      assert.equal((await db.view('g', 'orders', same.offset)).definedAt, defined);
      assert.equal((await db.view('g', 'orders', redefined)).definedAt, redefined);
      assert.deepEqual(await rows(db, 'orders', defined), ['["o1"]']);
      assert.deepEqual(await rows(db, 'orders', redefined), ['["o2"]']);
      assert.deepEqual(await rows(db, 'orders', moved), ['["o1"]', '["o2"]']);
      await assert.rejects(db.viewRows('g', 'orders', { at: retired }, { limit: 10 }), { code: 'view_not_found' });
      await assert.rejects(db.viewRows('g', 'orders', { at: defined - 1 }, { limit: 10 }), { code: 'view_not_found' });
      assert.deepEqual((await db.views('g', retired)).map((v) => v.name), []);
      assert.deepEqual((await db.views('g', moved)).map((v) => v.name), ['orders']);

      const stream = await collectDeltas(db, 'g', 'orders', 0, 150);
      assert.deepEqual(stream.map((d) => d.offset), [defined, redefined, moved, retired]);
      assert.deepEqual(stream[1], { offset: redefined, added: [['o2']], removed: [['o1']] });
      assert.deepEqual(stream[3], { offset: retired, added: [], removed: [['o1'], ['o2']] });
      assert.deepEqual(replay(stream, 'orders'), []);
    });
  });

  it('the definition and its change are in the tx report, the diff and the history of the schema', async () => {
    await withDb(async (db) => {
      await tx(db, ...order('o1', 'open'));
      const r = await db.defineView('g', 'orders', OPEN, WAIT);
      const report = await db.tx('g', r.offset);
      assert.deepEqual(report!.ops, [{ op: 'defineView', name: 'orders', query: '{"find":["?o"],"where":[{"attr":"status","id":"?o","value":"open"}]}' }]);
      assert.deepEqual(report!.changes, [{ kind: 'schema', view: 'orders', definition: { query: '{"find":["?o"],"where":[{"attr":"status","id":"?o","value":"open"}]}' } }]);
      const retired = await db.retireView('g', 'orders', WAIT);
      assert.deepEqual(await db.diff('g', r.offset - 1, retired.offset, {}), [], 'defined then retired nets to nothing');
      assert.deepEqual(await db.diff('g', retired.offset, r.offset, {}), [{ kind: 'schema', view: 'orders', definition: { query: report!.ops[0]!.op === 'defineView' ? report!.ops[0]!.query : '' } }]);
    });
  });
});

describe('maintenance across restarts and lag', () => {
  it('a restart resumes at the stored maintained offset: no replay, no duplicate delta', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'strata-views-'));
    try {
      let db = await openStrata({ dataDir });
      await tx(db, ...order('o1', 'open'));
      await db.defineView('g', 'orders', OPEN, WAIT);
      const before = await tx(db, ...order('o2', 'open'));
      assert.deepEqual(await rows(db, 'orders', before), ['["o1"]', '["o2"]']);
      await db.close();

      db = await openStrata({ dataDir });
      // Known at once, before any new tx: loaded from RocksDB, not recomputed from the log.
      assert.equal((await db.view('g', 'orders', before)).maintainedOffset, before);
      const after = await tx(db, setStatus('o1', 'done'), ...order('o3', 'open'));
      assert.deepEqual(await rows(db, 'orders', after), ['["o2"]', '["o3"]']);
      assert.deepEqual(await rows(db, 'orders', before), ['["o1"]', '["o2"]']);
      const stream = await collectDeltas(db, 'g', 'orders', 0, 150);
      assert.equal(stream.length, 3);
      assert.deepEqual(replay(stream, 'orders'), ['["o2"]', '["o3"]']);
      await db.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a read at an offset the view has not reached yet waits for it (like minBasis)', async () => {
    await withDb(async (db) => {
      await db.defineView('g', 'orders', OPEN, WAIT);
      const pending = await db.transact('g', { id: null, meta: {}, ops: order('o9', 'open') }, { wait: false, timeoutMs: 0 });
      const page = await db.viewRows('g', 'orders', { minBasis: pending.offset }, { limit: 10 });
      assert.ok(page.basis >= pending.offset);
      assert.deepEqual(page.rows, [['o9']]);
    });
  });
});

describe('view errors', () => {
  it('static checks answer before anything is logged', async () => {
    await withDb(async (db) => {
      const first = await tx(db, ...order('o1', 'open'));
      const bad = { find: ['?o'], where: [{ type: 'Order', id: '?o' }, { pred: '>', args: ['?total', 1] }] };
      await assert.rejects(db.defineView('g', 'v', bad, WAIT), (err: { code: string; details: { pointer: string } }) => err.code === 'invalid_query' && err.details.pointer === '/query/where/1/args/0');
      await assert.rejects(db.defineView('g', 'v', { ...OPEN, limit: 5 }, WAIT), (err: { code: string; details: { pointer: string } }) => err.code === 'invalid_query' && err.details.pointer === '/query/limit');
      await assert.rejects(db.defineView('g', 'v', { ...OPEN, at: 0 }, WAIT), { code: 'invalid_query' });
      await assert.rejects(db.defineView('g', 'Bad Name', OPEN, WAIT), { code: 'invalid_view_name' });
      await assert.rejects(db.retireView('g', 'nope', WAIT), { code: 'view_not_found' });
      const viaTx: TxInput = { id: null, meta: {}, ops: [{ op: 'defineView', name: 'v', query: JSON.stringify(bad) }] };
      await assert.rejects(db.transact('g', viaTx, WAIT), (err: { code: string; details: { pointer: string } }) => err.code === 'invalid_query' && err.details.pointer === '/ops/0/query/where/1/args/0');
      assert.equal((await db.graphInfo('g')).latestOffset, first, 'nothing was logged');
      await assert.rejects(db.viewRows('g', 'nope', {}, { limit: 10 }), { code: 'view_not_found' });
      assert.throws(() => db.subscribeView('g', 'nope', 0, { signal: AbortSignal.abort(), bufferMax: 1 }), { code: 'view_not_found' });
      await assert.rejects(db.view('g', 'nope', first), { code: 'view_not_found' });
      await assert.rejects(db.view('nograph', 'v', 0), { code: 'graph_not_found' });
    });
  });

  it('the per-graph view limit holds; redefining an existing view is still allowed at the limit', async () => {
    await withDb(async (db) => {
      await tx(db, ...order('o1', 'open'));
      await db.defineView('g', 'a', OPEN, WAIT);
      await db.defineView('g', 'b', OPEN, WAIT);
      await assert.rejects(db.defineView('g', 'c', OPEN, WAIT), { code: 'too_many_views' });
      assert.equal((await db.defineView('g', 'b', CLOSED, WAIT)).status, 'committed');
    }, { viewsPerGraphMax: 2 });
  });

  it('a foreign record whose view query does not parse becomes an invalid_record abort', async () => {
    const broker = new MemoryLogAdapter();
    const dataDir = await mkdtemp(join(tmpdir(), 'strata-views-'));
    const db = await openStrata({ dataDir, broker });
    try {
      await tx(db, ...order('o1', 'open'));
      const foreign: TxInput = { id: null, meta: {}, ops: [{ op: 'defineView', name: 'v', query: '{"find":["?x"],"where":[]}' }] };
      const [appended] = await broker.append('g', [{ key: null, value: encodeTx(foreign) }]);
      await db.resolveBasis('g', { minBasis: appended!.offset });
      const report = await db.tx('g', appended!.offset);
      assert.equal(report?.status, 'aborted');
      assert.equal(report?.error?.code, 'invalid_record');
      assert.match(report?.error?.message ?? '', /\/ops\/0\/query\/where/);
      assert.deepEqual(await db.views('g', appended!.offset), []);
    } finally {
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
