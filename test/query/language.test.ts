// The query language's documented semantics, one behaviour per test: cardinality-many binding, edges in
// both directions, reach depths and cycles, aggregate semantics, typed constants, the planner's access
// paths (explain), the basis (at / asOf / header), and seeding a variable (what views will use).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import type { StrataDb } from '../../src/core/strata-api.js';
import type { Op, WireValue } from '../../src/core/types.js';
import { idValue } from '../../src/query/lang/relation.js';
import { prepareQuery, runQuery } from '../../src/query/lang/run.js';
import { withApp } from '../api/helpers.js';
import { withDb } from './helpers.js';

const s = (v: string): WireValue => ({ t: 's', v });
const l = (v: number | string): WireValue => ({ t: 'l', v: String(v) });

async function tx(db: StrataDb, ops: Op[]): Promise<number> {
  const r = await db.transact('g', { id: null, meta: {}, ops }, { wait: true, timeoutMs: 5000 });
  assert.equal(r.status, 'committed', JSON.stringify(r));
  return r.offset;
}

async function rows(db: StrataDb, query: Record<string, unknown>): Promise<unknown[][]> {
  return (await db.query('g', query, {})).rows;
}

/** People a..d with a `knows` chain a→b→c→d→a, tags, orders with totals, one instant. */
async function seed(db: StrataDb): Promise<number> {
  await tx(db, [
    { op: 'defineAttr', attr: 'tags', valueType: 'string', cardinality: 'many', unique: false },
    { op: 'defineAttr', attr: 'since', valueType: 'instant', cardinality: 'one', unique: false },
  ]);
  const people = ['a', 'b', 'c', 'd'];
  await tx(db, people.flatMap((p): Op[] => [{ op: 'create', id: p, type: 'Person' }, { op: 'set', id: p, attr: 'name', value: s(p.toUpperCase() + 'x') }]));
  await tx(db, people.map((p, i): Op => ({ op: 'link', id: `k-${p}`, type: 'knows', from: p, to: people[(i + 1) % 4]! })));
  return tx(db, [
    { op: 'add', id: 'a', attr: 'tags', value: s('red') },
    { op: 'add', id: 'a', attr: 'tags', value: s('blue') },
    { op: 'add', id: 'b', attr: 'tags', value: s('red') },
    { op: 'set', id: 'a', attr: 'since', value: s('2024-01-02T00:00:00Z') },
    { op: 'set', id: 'k-a', attr: 'weight', value: l(5) },
    { op: 'create', id: 'o1', type: 'Order' },
    { op: 'set', id: 'o1', attr: 'total', value: l(10) },
    { op: 'create', id: 'o2', type: 'Order' },
    { op: 'set', id: 'o2', attr: 'total', value: l(10) },
    { op: 'create', id: 'o3', type: 'Order' },
    { op: 'set', id: 'o3', attr: 'total', value: { t: 'n', v: 2.5 } },
    { op: 'link', id: 'p1', type: 'placedBy', from: 'o1', to: 'a' },
    { op: 'link', id: 'p2', type: 'placedBy', from: 'o2', to: 'a' },
    { op: 'link', id: 'p3', type: 'placedBy', from: 'o3', to: 'b' },
  ]);
}

test('a cardinality-many attribute binds each value; a constant matches any one of them', async () => {
  await withDb(async (db) => {
    await seed(db);
    assert.deepEqual(await rows(db, { find: ['?p', '?t'], where: [{ id: '?p', attr: 'tags', value: '?t' }] }), [['a', 'blue'], ['a', 'red'], ['b', 'red']]);
    assert.deepEqual(await rows(db, { find: ['?p'], where: [{ id: '?p', attr: 'tags', value: 'blue' }] }), [['a']]);
  });
});

test('edges traverse out and in, bind their id and type, and carry attributes', async () => {
  await withDb(async (db) => {
    await seed(db);
    assert.deepEqual(await rows(db, { find: ['?o'], where: [{ edge: 'placedBy', from: '?o', to: 'a' }] }), [['o1'], ['o2']]);
    assert.deepEqual(await rows(db, { find: ['?c'], where: [{ edge: 'placedBy', from: 'o3', to: '?c' }] }), [['b']]);
    assert.deepEqual(await rows(db, { find: ['?e', '?w'], where: [{ edge: 'knows', from: 'a', to: '?_', id: '?e' }, { id: '?e', attr: 'weight', value: '?w' }] }), [['k-a', 5]]);
    assert.deepEqual(await rows(db, { find: ['?type'], where: [{ edge: '?type', from: '?_', to: 'a' }] }), [['knows'], ['placedBy']]);
    assert.deepEqual(await rows(db, { find: ['?x'], where: [{ type: 'knows', id: '?x', kind: 'edge' }, { pred: 'prefix', args: ['?x', 'k-c'] }] }), [['k-c']]);
    assert.deepEqual(await rows(db, { find: [{ count: '?x' }], where: [{ type: '?_', id: '?x', kind: 'node' }] }), [[7]]);
  });
});

test('reach: shortest depth, a cycle back to the start, minDepth 0, in, both, and a bound `to` only', async () => {
  await withDb(async (db) => {
    await seed(db);
    const reach = (r: Record<string, unknown>) => rows(db, { find: ['?to', '?d'], where: [{ reach: { from: 'a', edge: 'knows', to: '?to', depth: '?d', ...r } }], orderBy: ['?d'] });
    assert.deepEqual(await reach({ maxDepth: 2 }), [['b', 1], ['c', 2]]);
    assert.deepEqual(await reach({}), [['b', 1], ['c', 2], ['d', 3], ['a', 4]]);
    assert.deepEqual(await reach({ minDepth: 0, maxDepth: 1 }), [['a', 0], ['b', 1]]);
    assert.deepEqual(await reach({ minDepth: 3 }), [['d', 3], ['a', 4]]);
    assert.deepEqual(await reach({ direction: 'in', maxDepth: 2 }), [['d', 1], ['c', 2]]);
    // Undirected, a walk may come straight back: the start is found again at depth 2.
    assert.deepEqual(await reach({ direction: 'both', maxDepth: 2 }), [['b', 1], ['d', 1], ['a', 2], ['c', 2]]);
    assert.deepEqual(await rows(db, { find: ['?from', '?d'], where: [{ reach: { from: '?from', edge: 'knows', to: 'c', maxDepth: 2, depth: '?d' } }] }), [['a', 2], ['b', 1]]);
    assert.deepEqual(await reach({ edge: 'placedBy' }), []);
    assert.deepEqual(await rows(db, { find: ['?to'], where: [{ reach: { from: 'o1', edge: 'knows', to: '?to', minDepth: 0 } }] }), [['o1']]);
    assert.deepEqual(await rows(db, { find: ['?to'], where: [{ reach: { from: 'p1', edge: 'knows', to: '?to', minDepth: 0 } }] }), [], 'an edge is not a start node');
  });
});

test('reach reads the slice at the basis: a terminated edge still counts at an earlier offset', async () => {
  await withDb(async (db) => {
    const before = await seed(db);
    await tx(db, [{ op: 'terminate', id: 'k-b' }]);
    const q = { find: ['?to'], where: [{ reach: { from: 'a', edge: 'knows', to: '?to' } }] };
    assert.deepEqual((await db.query('g', q, {})).rows, [['b']]);
    assert.deepEqual((await db.query('g', { ...q, at: before }, {})).rows, [['a'], ['b'], ['c'], ['d']]);
  });
});

test('aggregates run over every distinct solution of the group; no grouping variable means one row', async () => {
  await withDb(async (db) => {
    await seed(db);
    const perCustomer = await rows(db, {
      find: ['?c', { count: '?o', as: 'orders' }, { sum: '?t' }, { avg: '?t' }, { countDistinct: '?t' }],
      where: [{ edge: 'placedBy', from: '?o', to: '?c' }, { id: '?o', attr: 'total', value: '?t' }],
      orderBy: [['orders', 'desc']],
    });
    // o1 and o2 both total 10: the sum counts both (solutions are (?c, ?o, ?t) bindings, not values).
    assert.deepEqual(perCustomer, [['a', 2, 20, 10, 1], ['b', 1, 2.5, 2.5, 1]]);
    assert.deepEqual(await rows(db, { find: [{ count: '?x' }, { sum: '?x' }, { min: '?x' }], where: [{ type: 'Nobody', id: '?x' }] }), [[0, null, null]]);
    assert.deepEqual(await rows(db, { find: ['?x', { count: '?x' }], where: [{ type: 'Nobody', id: '?x' }] }), []);
    assert.deepEqual(await rows(db, { find: [{ min: '?v' }, { max: '?v' }], where: [{ id: '?x', attr: 'total', value: '?v' }] }), [[2.5, 10]]);
  });
});

test('sum stays exact for longs beyond 2^53; min and max order values of different kinds', async () => {
  await withDb(async (db) => {
    const big = '9007199254740993';
    await tx(db, [
      { op: 'defineAttr', attr: 'n', valueType: 'long', cardinality: 'one', unique: false },
      { op: 'create', id: 'x', type: 'T' }, { op: 'set', id: 'x', attr: 'n', value: l(big) },
      { op: 'create', id: 'y', type: 'T' }, { op: 'set', id: 'y', attr: 'n', value: l(2) },
      { op: 'create', id: 'z', type: 'T' }, { op: 'set', id: 'z', attr: 'm', value: s('word') },
      { op: 'set', id: 'y', attr: 'm', value: { t: 'b', v: true } }, { op: 'set', id: 'x', attr: 'm', value: l(4) },
    ]);
    assert.deepEqual(await rows(db, { find: [{ sum: '?n' }], where: [{ id: '?x', attr: 'n', value: '?n' }] }), [[{ $long: '9007199254740995' }]]);
    // booleans < numbers < strings; sum and avg skip what is not a number.
    assert.deepEqual(await rows(db, { find: [{ min: '?m' }, { max: '?m' }, { sum: '?m' }], where: [{ id: '?x', attr: 'm', value: '?m' }] }), [[true, 'word', 4]]);
  });
});

test('predicates: order only within a kind, prefix on strings, in over constants, typed instants', async () => {
  await withDb(async (db) => {
    await seed(db);
    const totals = (pred: Record<string, unknown>) => rows(db, { find: ['?o'], where: [{ id: '?o', attr: 'total', value: '?t' }, pred] });
    assert.deepEqual(await totals({ pred: '>', args: ['?t', 5] }), [['o1'], ['o2']]);
    assert.deepEqual(await totals({ pred: '<=', args: ['?t', 2.5] }), [['o3']]);
    assert.deepEqual(await totals({ pred: '<', args: ['?t', 'zzz'] }), [], 'a number is never less than a string');
    assert.deepEqual(await totals({ pred: '!=', args: ['?t', '10'] }), [['o1'], ['o2'], ['o3']], 'the string "10" is not the number 10');
    assert.deepEqual(await totals({ pred: 'in', args: ['?t', [2.5, 'x', { $long: '10' }]] }), [['o1'], ['o2'], ['o3']]);
    assert.deepEqual(await totals({ pred: '=', args: ['?t', 10.0] }), [['o1'], ['o2']]);
    assert.deepEqual(await rows(db, { find: ['?n'], where: [{ id: '?p', attr: 'name', value: '?n' }, { pred: 'prefix', args: ['?n', 'C'] }] }), [['Cx']]);
    // `since` is an instant: a string constant in its attribute pattern is coerced as a `set` would be.
    assert.deepEqual(await rows(db, { find: ['?p'], where: [{ id: '?p', attr: 'since', value: '2024-01-02T00:00:00Z' }] }), [['a']]);
    const after = { pred: '>', args: ['?s', { $instant: '2024-01-01T00:00:00Z' }] };
    assert.deepEqual(await rows(db, { find: ['?p', '?s'], where: [{ id: '?p', attr: 'since', value: '?s' }, after] }), [['a', { $instant: '2024-01-02T00:00:00.000Z' }]]);
  });
});

test('a literal that looks like a variable is written {"$value": …}', async () => {
  await withDb(async (db) => {
    await tx(db, [{ op: 'create', id: '?odd', type: 'T' }, { op: 'set', id: '?odd', attr: 'label', value: s('?what') }]);
    assert.deepEqual(await rows(db, { find: ['?l'], where: [{ id: { $value: '?odd' }, attr: 'label', value: '?l' }] }), [['?what']]);
    assert.deepEqual(await rows(db, { find: ['?x'], where: [{ id: '?x', attr: 'label', value: { $value: '?what' } }] }), [['?odd']]);
  });
});

test('not, or and the written order of clauses do not change the answer', async () => {
  await withDb(async (db) => {
    await seed(db);
    const where = [
      { type: 'Person', id: '?p' },
      { not: [{ id: '?p', attr: 'tags', value: 'red' }] },
      { or: [[{ id: '?p', attr: 'name', value: 'Cx' }], [{ edge: 'knows', from: '?p', to: 'a' }]] },
    ];
    const expected = [['c'], ['d']];
    assert.deepEqual(await rows(db, { find: ['?p'], where }), expected);
    assert.deepEqual(await rows(db, { find: ['?p'], where: [...where].reverse() }), expected);
  });
});

test('explain shows index-aware planning: constants and bound variables drive lookups', async () => {
  await withDb(async (db) => {
    await seed(db);
    const result = await db.query('g', {
      find: ['?o', '?name'],
      where: [
        { type: 'Order', id: '?o' },
        { id: '?c', attr: 'name', value: '?name' },
        { edge: 'placedBy', from: '?o', to: '?c' },
        { id: '?o', attr: 'total', value: 10 },
        { pred: 'prefix', args: ['?name', 'A'] },
      ],
      explain: true,
    }, {});
    assert.deepEqual(result.rows, [['o1', 'Ax'], ['o2', 'Ax']]);
    assert.deepEqual(result.plan!.map((s) => [s.clause, s.access]), [
      ['/where/3', 'valueIndex'],
      ['/where/0', 'entity'],
      ['/where/2', 'adjacencyOut'],
      ['/where/1', 'entity'],
      ['/where/4', 'filter'],
    ]);
    const byType = await db.query('g', { find: ['?p'], where: [{ id: '?p', attr: 'name', value: '?n' }, { type: 'Person', id: '?p' }], explain: true }, {});
    assert.deepEqual(byType.plan!.map((s) => s.access), ['typeIndex', 'entity']);
  });
});

test('the basis comes from at or asOf in the body or the query string, and is reported', async () => {
  await withApp(async ({ app }) => {
    const post = (body: unknown, query = '') => app.inject({ method: 'POST', url: `/v1/graphs/h/query${query}`, payload: body as object });
    const first = JSON.parse((await app.inject({ method: 'POST', url: '/v1/graphs/h/transactions', payload: { ops: [{ op: 'create', id: 'a', type: 'T' }] } })).body);
    const second = JSON.parse((await app.inject({ method: 'POST', url: '/v1/graphs/h/transactions', payload: { ops: [{ op: 'create', id: 'b', type: 'T' }] } })).body);
    const q = { find: ['?x'], where: [{ type: 'T', id: '?x' }] };
    const latest = await post(q);
    assert.equal(latest.statusCode, 200, latest.body);
    assert.equal(latest.headers['strata-basis'], String(second.offset));
    assert.deepEqual(JSON.parse(latest.body), { basis: second.offset, columns: ['?x'], rows: [['a'], ['b']] });
    const atBody = JSON.parse((await post({ ...q, at: first.offset })).body);
    const atQuery = JSON.parse((await post(q, `?at=${first.offset}`)).body);
    assert.deepEqual(atBody, { basis: first.offset, columns: ['?x'], rows: [['a']] });
    assert.deepEqual(atQuery, atBody);
    const asOf = JSON.parse((await post({ ...q, asOf: first.time })).body);
    assert.ok(asOf.basis >= first.offset);
    const spec = JSON.parse((await post({ ...q, with: [{ op: 'create', id: 'c', type: 'T' }] })).body);
    assert.deepEqual(spec, { basis: second.offset, columns: ['?x'], rows: [['a'], ['b'], ['c']], speculative: true });
  });
});

test('a variable can be seeded with candidate ids: the answer is the full answer restricted to them', async () => {
  await withDb(async (db) => {
    const basis = await seed(db);
    const body = { find: ['?o', '?c'], where: [{ type: 'Order', id: '?o' }, { edge: 'placedBy', from: '?o', to: '?c' }] };
    const full = await db.query('g', body, {});
    const prepared = prepareQuery(body, DEFAULT_LIMITS, ['?o']);
    assert.equal(prepared.plan.steps[0]!.access, 'entity', 'a seeded variable drives lookups like a bound one');
    // Internals reached through the library: what a view maintainer does with the ids a tx touched.
    const internal = db as unknown as { handle(g: string): { reader: never; schemaAt(b: number): never } };
    const h = internal.handle('g');
    const seeded = await runQuery({ reader: h.reader, schemaAt: (b) => h.schemaAt(b) }, prepared, basis, DEFAULT_LIMITS, {
      seeds: new Map([['?o', ['o2', 'o3', 'a', 'nobody'].map(idValue)]]),
    });
    assert.deepEqual(seeded.rows, full.rows.filter((r) => r[0] === 'o2' || r[0] === 'o3'));
  });
});
