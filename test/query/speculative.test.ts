// Speculative queries (`with`): random ops applied in memory at random offsets agree with the naive
// evaluator over the listed slice with the same ops applied by hand; nothing is ever logged or
// materialized; ops fold against the slice at the basis (not the latest one) and may abort.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StrataError } from '../../src/core/errors.js';
import { Rng } from '../reference/generator.js';
import { listSlice, withDb } from './helpers.js';
import { ATTRS, EDGE_TYPES, NODE_TYPES, publishRandomGraph, QueryGen } from './gen.js';
import { naiveQuery, type NaiveEntity, type Scalar } from './naive.js';


type OpJson = Record<string, unknown>;

/** Random ops that commit on `slice`, applied to a copy of it the naive way. */
function randomOps(rng: Rng, slice: NaiveEntity[], tag: string): { ops: OpJson[]; after: NaiveEntity[] } {
  const after = slice.map((e) => ({ ...e, attrs: { ...e.attrs } }));
  const ops: OpJson[] = [];
  const nodes = (): NaiveEntity[] => after.filter((e) => e.kind === 'node');
  for (let i = 0, n = 1 + rng.int(4); i < n; i++) {
    const roll = rng.int(6);
    if (roll === 0 || nodes().length < 2) {
      const id = `spec-${tag}-${i}`;
      const type = rng.pick(NODE_TYPES);
      ops.push({ op: 'create', id, type });
      after.push({ id, kind: 'node', type, attrs: {} });
    } else if (roll === 1) {
      const [from, to] = [rng.pick(nodes()).id, rng.pick(nodes()).id];
      const id = `spec-${tag}-e${i}`;
      const type = rng.pick(EDGE_TYPES);
      ops.push({ op: 'link', id, type, from, to });
      after.push({ id, kind: 'edge', type, from, to, attrs: {} });
    } else if (roll <= 3) {
      const e = rng.pick(nodes());
      const a = rng.pick(ATTRS.filter((x) => !x.many));
      const value = rng.pick(a.pool);
      ops.push({ op: 'set', id: e.id, attr: a.attr, value });
      e.attrs[a.attr] = value;
    } else if (roll === 4) {
      const e = rng.pick(nodes());
      const value = rng.pick(ATTRS.find((x) => x.many)!.pool) as string;
      ops.push({ op: 'add', id: e.id, attr: 'tags', value });
      e.attrs['tags'] = [...new Set([...((e.attrs['tags'] as Scalar[] | undefined) ?? []), value])].sort();
    } else {
      const victim = rng.pick(after);
      ops.push({ op: 'terminate', id: victim.id });
      const gone = new Set([victim.id, ...after.filter((e) => e.from === victim.id || e.to === victim.id).map((e) => e.id)]);
      after.splice(0, after.length, ...after.filter((e) => !gone.has(e.id)));
    }
  }
  return { ops, after };
}

test('speculative queries agree with the naive evaluator over the slice with the ops applied by hand', async () => {
  await withDb(async (db) => {
    const last = await publishRandomGraph(db, 'g', 7, 80);
    const rng = new Rng(77);
    const gen = new QueryGen(new Rng(777));
    let compared = 0;
    for (let i = 0; i < 25; i++) {
      const basis = i === 0 ? last : rng.int(last + 1);
      const slice = await listSlice(db, 'g', basis);
      if (slice.length === 0) continue;
      const { ops, after } = randomOps(rng, slice, String(i));
      for (let k = 0; k < 8; k++) {
        const q = gen.next(after.map((e) => e.id));
        const expected = naiveQuery(after, q);
        const actual = await db.query('g', { ...q, with: ops, at: basis }, {});
        assert.equal(actual.speculative, true);
        assert.equal(actual.basis, basis);
        assert.deepEqual(actual.rows, expected.rows, `${JSON.stringify(q)} with ${JSON.stringify(ops)} at ${basis}`);
        compared++;
      }
    }
    assert.ok(compared >= 150);
  });
});

test('with leaves the log, the materialized state and every slice unchanged', async () => {
  await withDb(async (db) => {
    const last = await publishRandomGraph(db, 'g', 8, 40);
    const before = { info: await db.graphInfo('g'), slice: await listSlice(db, 'g', last), log: await db.txLog('g', 0, 1000, last) };
    const node = before.slice.find((e) => e.kind === 'node')!;
    const ops = [
      { op: 'defineAttr', attr: 'extra', valueType: 'long' },
      { op: 'create', id: 'ghost', type: 'Person' },
      { op: 'set', id: 'ghost', attr: 'extra', value: 5 },
      { op: 'link', id: 'ghost-edge', type: 'knows', from: 'ghost', to: node.id },
      { op: 'terminate', id: node.id },
    ];
    const seen = await db.query('g', { find: ['?x', '?v'], where: [{ id: '?x', attr: 'extra', value: '?v' }], with: ops }, {});
    assert.deepEqual(seen.rows, [['ghost', 5]]);
    const gone = await db.query('g', { find: ['?x'], where: [{ type: '?_', id: '?x' }, { pred: '=', args: ['?x', node.id] }], with: ops }, {});
    assert.deepEqual(gone.rows, []);
    const after = { info: await db.graphInfo('g'), slice: await listSlice(db, 'g', last), log: await db.txLog('g', 0, 1000, last) };
    assert.deepEqual({ ...after.info, storageBytes: 0 }, { ...before.info, storageBytes: 0 });
    assert.deepEqual(after.slice, before.slice);
    assert.deepEqual(after.log, before.log);
    assert.equal(await db.entity('g', 'ghost', last), null);
    const plain = await db.query('g', { find: ['?x'], where: [{ id: '?x', attr: 'extra', value: '?_' }] }, {});
    assert.deepEqual(plain.rows, []);
    assert.equal(plain.speculative, undefined);
  });
});

test('with folds against the slice at the basis, and ops that would abort answer tx_aborted', async () => {
  await withDb(async (db) => {
    const opts = { wait: true, timeoutMs: 5000 };
    const created = await db.transact('g', { id: null, meta: {}, ops: [{ op: 'create', id: 'a', type: 'T' }] }, opts);
    await db.transact('g', { id: null, meta: {}, ops: [{ op: 'create', id: 'b', type: 'T' }, { op: 'set', id: 'b', attr: 'n', value: { t: 'l', v: '1' } }] }, opts);
    await db.transact('g', { id: null, meta: {}, ops: [{ op: 'terminate', id: 'a' }] }, opts);
    // At offset 0, `b` does not exist yet and `a` is live: the fold must see that slice, not the latest.
    const early = await db.query('g', { find: ['?x'], where: [{ type: 'T', id: '?x' }], with: [{ op: 'create', id: 'b', type: 'T' }], at: created.offset }, {});
    assert.deepEqual(early.rows, [['a'], ['b']]);
    const setA = await db.query('g', { find: ['?v'], where: [{ id: 'a', attr: 'n', value: '?v' }], with: [{ op: 'set', id: 'a', attr: 'n', value: 9 }], at: created.offset }, {});
    assert.deepEqual(setA.rows, [[9]]);
    const attempts: [unknown[], string][] = [
      [[{ op: 'set', id: 'a', attr: 'n', value: 9 }], 'entity_terminated'],
      [[{ op: 'create', id: 'b', type: 'T' }], 'entity_exists'],
      [[{ op: 'expect', id: 'b', attr: 'n', value: 2 }], 'precondition_failed'],
      [[{ op: 'link', id: 'e', type: 'L', from: 'b', to: 'nowhere' }], 'entity_not_found'],
    ];
    for (const [ops, code] of attempts) {
      await assert.rejects(db.query('g', { find: ['?x'], where: [{ type: 'T', id: '?x' }], with: ops }, {}), (err: unknown) => {
        assert.ok(err instanceof StrataError);
        assert.equal(err.code, 'tx_aborted');
        assert.equal(err.details?.['abort'], code);
        assert.equal(err.details?.['op'], 0);
        return true;
      });
    }
  });
});
