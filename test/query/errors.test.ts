// Every error path of the query language and route: each malformed query answers 400 invalid_query with
// the JSON pointer of the offending place and a reason; limits answer query_timeout / result_too_large;
// basis, graph and speculative failures answer their registry codes. Nothing is ever logged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { assertError, get, publish, withApp } from '../api/helpers.js';

const G = 'errs';
const url = `/v1/graphs/${G}/query`;
const T = { type: 'T', id: '?x' };
const ok = (where: unknown[] = [T], find: unknown[] = ['?x']) => ({ find, where });

/** [what, body, pointer] — each must answer 400 invalid_query at that pointer. */
const MALFORMED: [string, unknown, string][] = [
  ['body is an array', [], ''],
  ['body is a string', 'find everything', ''],
  ['unknown top-level field', { ...ok(), bogus: 1 }, '/bogus'],
  ['missing find', { where: [T] }, '/find'],
  ['find is not an array', { find: '?x', where: [T] }, '/find'],
  ['find is empty', { find: [], where: [T] }, '/find'],
  ['find item is not a variable', ok([T], ['x']), '/find/0'],
  ['find item is a malformed variable', ok([T], ['?x y']), '/find/0'],
  ['find the anonymous variable', ok([T], ['?_']), '/find/0'],
  ['unknown aggregate', ok([T], [{ median: '?x' }]), '/find/0'],
  ['two aggregate functions', ok([T], [{ count: '?x', sum: '?x' }]), '/find/0'],
  ['aggregate with an extra field', ok([T], [{ count: '?x', by: '?x' }]), '/find/0/by'],
  ['aggregate over a constant', ok([T], [{ count: 3 }]), '/find/0/count'],
  ['aggregate alias is empty', ok([T], [{ count: '?x', as: '' }]), '/find/0/as'],
  ['duplicate column', ok([T], ['?x', '?x']), '/find/1'],
  ['duplicate aggregate column', ok([T], [{ count: '?x' }, { count: '?x' }]), '/find/1'],
  ['found variable bound by no clause', ok([T], ['?x', '?y']), '/find/1'],
  ['found variable bound in only some or branches', ok([T, { or: [[{ id: '?x', attr: 'a', value: '?y' }], [{ id: '?x', attr: 'b', value: 1 }]] }], ['?y']), '/find/0'],
  ['missing where', { find: ['?x'] }, '/where'],
  ['where is empty', { find: ['?x'], where: [] }, '/where'],
  ['where is not an array', { find: ['?x'], where: T }, '/where'],
  ['clause is not an object', ok([T, 'x']), '/where/1'],
  ['clause of no known kind', ok([T, { id: '?x' }]), '/where/1'],
  ['unexpected field in a type pattern', ok([{ ...T, value: 1 }]), '/where/0/value'],
  ['unexpected field in an attribute pattern', ok([T, { id: '?x', attr: 'a', value: 1, kind: 'node' }]), '/where/1/kind'],
  ['attribute pattern without id', ok([T, { attr: 'a', value: 1 }]), '/where/1/id'],
  ['attribute pattern without value', ok([T, { id: '?x', attr: 'a' }]), '/where/1/value'],
  ['malformed variable', ok([T, { id: '?1x', attr: 'a', value: 1 }]), '/where/1/id'],
  ['type is a number', ok([{ type: 5, id: '?x' }]), '/where/0/type'],
  ['type is an empty string', ok([{ type: '', id: '?x' }]), '/where/0/type'],
  ['entity kind is unknown', ok([{ ...T, kind: 'vertex' }]), '/where/0/kind'],
  ['attribute name is a variable', ok([T, { id: '?x', attr: '?a', value: 1 }]), '/where/1/attr'],
  ['attribute name is empty', ok([T, { id: '?x', attr: '', value: 1 }]), '/where/1/attr'],
  ['attribute name is not a string', ok([T, { id: '?x', attr: 7, value: 1 }]), '/where/1/attr'],
  ['value is null', ok([T, { id: '?x', attr: 'a', value: null }]), '/where/1/value'],
  ['value is a malformed $long', ok([T, { id: '?x', attr: 'a', value: { $long: 'ten' } }]), '/where/1/value'],
  ['value is a malformed $instant', ok([T, { id: '?x', attr: 'a', value: { $instant: 'yesterday' } }]), '/where/1/value'],
  ['$value escape with another key', ok([T, { id: '?x', attr: 'a', value: { $value: '?lit', more: 1 } }]), '/where/1/value'],
  ['edge pattern without to', ok([{ edge: 'L', from: '?x' }], ['?x']), '/where/0/to'],
  ['edge pattern with a numeric from', ok([{ edge: 'L', from: 3, to: '?x' }]), '/where/0/from'],
  ['edge pattern with a malformed id', ok([{ edge: 'L', from: '?x', to: '?y', id: {} }]), '/where/0/id'],
  ['unknown predicate', ok([T, { pred: 'like', args: ['?x', 'a'] }]), '/where/1/pred'],
  ['predicate args is not an array', ok([T, { pred: '=', args: '?x' }]), '/where/1/args'],
  ['predicate with one argument', ok([T, { pred: '<', args: ['?x'] }]), '/where/1/args'],
  ['predicate without args', ok([T, { pred: '<' }]), '/where/1/args'],
  ['in without a constant array', ok([T, { pred: 'in', args: ['?x', 'a'] }]), '/where/1/args/1'],
  ['in with a null member', ok([T, { pred: 'in', args: ['?x', ['a', null]] }]), '/where/1/args/1/1'],
  ['predicate on an unbound variable', ok([T, { pred: '>', args: ['?y', 3] }]), '/where/1/args/0'],
  ['predicate on the anonymous variable', ok([T, { pred: '>', args: ['?_', 3] }]), '/where/1/args/0'],
  ['predicate on a variable bound only inside a not', ok([T, { not: [{ id: '?x', attr: 'a', value: '?v' }] }, { pred: '=', args: ['?v', 1] }]), '/where/2/args/0'],
  ['not is not an array', ok([T, { not: { id: '?x', attr: 'a', value: 1 } }]), '/where/1/not'],
  ['not is empty', ok([T, { not: [] }]), '/where/1/not'],
  ['not holds a bad clause', ok([T, { not: [{ id: '?x', attr: 'a' }] }]), '/where/1/not/0/value'],
  ['not with an unexpected field', ok([T, { not: [T], or: [] }]), '/where/1/or'],
  ['or is not an array', ok([T, { or: 'a' }]), '/where/1/or'],
  ['or is empty', ok([T, { or: [] }]), '/where/1/or'],
  ['or branch is empty', ok([T, { or: [[T], []] }]), '/where/1/or/1'],
  ['or branch is not an array', ok([T, { or: [T] }]), '/where/1/or/0'],
  ['or branch holds a bad clause', ok([T, { or: [[T], [{ type: 'T' }]] }]), '/where/1/or/1/0/id'],
  ['ors that wait on each other', ok([
    { or: [[{ id: '?a', attr: 'x', value: '?b' }], [{ id: '?a', attr: 'y', value: 1 }]] },
    { or: [[{ id: '?b', attr: 'x', value: '?a' }], [{ id: '?b', attr: 'y', value: 1 }]] },
  ], ['?a']), '/where/0'],
  ['reach is not an object', ok([{ reach: ['?x'] }]), '/where/0/reach'],
  ['reach without edge', ok([{ reach: { from: '?x', to: '?y' } }]), '/where/0/reach/edge'],
  ['reach over a variable edge type', ok([{ reach: { from: '?x', to: '?y', edge: '?e' } }]), '/where/0/reach/edge'],
  ['reach without from', ok([{ reach: { edge: 'L', to: '?x' } }]), '/where/0/reach/from'],
  ['reach with an unknown field', ok([{ reach: { from: '?x', to: '?y', edge: 'L', via: 'z' } }]), '/where/0/reach/via'],
  ['reach with an unknown direction', ok([{ reach: { from: '?x', to: '?y', edge: 'L', direction: 'up' } }]), '/where/0/reach/direction'],
  ['reach with maxDepth 0', ok([{ reach: { from: '?x', to: '?y', edge: 'L', maxDepth: 0 } }]), '/where/0/reach/maxDepth'],
  ['reach with maxDepth past the limit', ok([{ reach: { from: '?x', to: '?y', edge: 'L', maxDepth: 1_000_000 } }]), '/where/0/reach/maxDepth'],
  ['reach with a fractional maxDepth', ok([{ reach: { from: '?x', to: '?y', edge: 'L', maxDepth: 1.5 } }]), '/where/0/reach/maxDepth'],
  ['reach with minDepth above maxDepth', ok([{ reach: { from: '?x', to: '?y', edge: 'L', minDepth: 3, maxDepth: 2 } }]), '/where/0/reach/minDepth'],
  ['reach binding depth to a constant', ok([{ reach: { from: '?x', to: '?y', edge: 'L', depth: 2 } }]), '/where/0/reach/depth'],
  ['orderBy is not an array', { ...ok(), orderBy: '?x' }, '/orderBy'],
  ['orderBy entry of the wrong shape', { ...ok(), orderBy: [['?x']] }, '/orderBy/0'],
  ['orderBy names no column', { ...ok(), orderBy: ['?y'] }, '/orderBy/0'],
  ['orderBy pair names no column', { ...ok(), orderBy: [['?y', 'asc']] }, '/orderBy/0/0'],
  ['orderBy with a bad direction', { ...ok(), orderBy: [['?x', 'up']] }, '/orderBy/0/1'],
  ['limit 0', { ...ok(), limit: 0 }, '/limit'],
  ['fractional limit', { ...ok(), limit: 1.5 }, '/limit'],
  ['limit past the result limit', { ...ok(), limit: 10_001 }, '/limit'],
  ['negative offset', { ...ok(), offset: -1 }, '/offset'],
  ['negative at', { ...ok(), at: -1 }, '/at'],
  ['at is a string', { ...ok(), at: '3' }, '/at'],
  ['asOf is not ISO-8601', { ...ok(), asOf: 'yesterday' }, '/asOf'],
  ['both at and asOf', { ...ok(), at: 0, asOf: '2024-01-01T00:00:00Z' }, '/asOf'],
  ['with is not an array', { ...ok(), with: { op: 'create' } }, '/with'],
  ['with is empty', { ...ok(), with: [] }, '/with'],
  ['with holds an unknown op', { ...ok(), with: [{ op: 'explode', id: 'x' }] }, '/with/0'],
  ['with holds a null value', { ...ok(), with: [{ op: 'set', id: 'x', attr: 'a', value: null }] }, '/with/0/value'],
  ['with holds a bad id', { ...ok(), with: [{ op: 'create', id: '', type: 'T' }] }, '/with/0/id'],
  ['with op misses a field', { ...ok(), with: [{ op: 'create', type: 'T' }, { op: 'create', id: 'a' }] }, '/with/0/id'],
  ['timeoutMs 0', { ...ok(), timeoutMs: 0 }, '/timeoutMs'],
  ['timeoutMs past the limit', { ...ok(), timeoutMs: 60_000 }, '/timeoutMs'],
  ['explain is not a boolean', { ...ok(), explain: 'yes' }, '/explain'],
];

async function post(app: FastifyInstance, body: unknown, query = '') {
  return app.inject({ method: 'POST', url: `${url}${query}`, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

async function seed(app: FastifyInstance, nodes: number): Promise<number> {
  const ops = Array.from({ length: nodes }, (_, i) => [{ op: 'create', id: `n${i}`, type: 'T' }, { op: 'set', id: `n${i}`, attr: 'a', value: i }]).flat();
  return (await publish(app, G, { ops }))['offset'] as number;
}

test('every malformed query answers 400 invalid_query with its JSON pointer and a reason', async () => {
  await withApp(async ({ app }) => {
    await seed(app, 3);
    const before = await get(app, `/v1/graphs/${G}`);
    for (const [what, body, pointer] of MALFORMED) {
      const res = await post(app, body);
      const error = assertError(res, 400, 'invalid_query')['error'];
      assert.equal(error.details.pointer, pointer, `${what}: ${res.body}`);
      assert.equal(typeof error.details.reason, 'string', what);
      assert.ok(error.details.reason.length > 5, what);
      assert.ok(error.message.includes(error.details.reason), what);
    }
    // Nothing was logged or materialized by any of them, `with` included.
    assert.deepEqual(await get(app, `/v1/graphs/${G}`), before);
  });
});

test('the clause and nesting limits are enforced with pointers', async () => {
  await withApp(async ({ app }) => {
    await seed(app, 1);
    const many = await post(app, ok([T, T, T, T]));
    assert.equal(assertError(many, 400, 'invalid_query')['error'].details.pointer, '/where/3');
    const deep = await post(app, ok([T, { not: [{ not: [T] }] }]));
    assert.equal(assertError(deep, 400, 'invalid_query')['error'].details.pointer, '/where/1/not/0');
  }, { queryClausesMax: 3, queryNestingMax: 1 });
});

test('basis choice: body and query string may not both name it; bad offsets and graphs keep their codes', async () => {
  await withApp(async ({ app }) => {
    const last = await seed(app, 2);
    const twice = await post(app, { ...ok(), at: 0 }, `?at=${last}`);
    assert.equal(assertError(twice, 400, 'invalid_query')['error'].details.pointer, '/at');
    const twiceAsOf = await post(app, { ...ok(), asOf: '2024-01-01T00:00:00Z' }, `?at=${last}`);
    assert.equal(assertError(twiceAsOf, 400, 'invalid_query')['error'].details.pointer, '/asOf');
    assertError(await post(app, ok(), '?at=abc'), 400, 'invalid_offset');
    assertError(await post(app, ok(), '?at=0&asOf=2024-01-01T00:00:00Z'), 400, 'invalid_request');
    assertError(await post(app, ok(), '?bogus=1'), 400, 'invalid_request');
    assertError(await post(app, { ...ok(), at: last + 10 }), 400, 'offset_out_of_range');
    assertError(await post(app, ok(), `?at=${last + 10}`), 400, 'offset_out_of_range');
    assertError(await app.inject({ method: 'POST', url: '/v1/graphs/nope/query', payload: ok() }), 404, 'graph_not_found');
    assertError(await app.inject({ method: 'POST', url: '/v1/graphs/Bad!/query', payload: ok() }), 400, 'invalid_graph_name');
    assertError(await app.inject({ method: 'POST', url, payload: '{"find":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
    assertError(await app.inject({ method: 'POST', url, payload: 'find', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  });
});

test('a query past its time limit answers 400 query_timeout', async () => {
  await withApp(async ({ app }) => {
    await seed(app, 200);
    const cross = ok([T, { type: 'T', id: '?y' }, { type: 'T', id: '?z' }, { pred: '=', args: ['?x', '?z'] }], [{ count: '?y' }]);
    const res = await post(app, { ...cross, timeoutMs: 1 });
    const error = assertError(res, 400, 'query_timeout')['error'];
    assert.equal(error.details.timeoutMs, 1);
  });
});

test('too many result rows or intermediate solutions answer 413 result_too_large', async () => {
  await withApp(async ({ app }) => {
    await seed(app, 8);
    const rows = assertError(await post(app, ok()), 413, 'result_too_large')['error'];
    assert.deepEqual([rows.details.rows, rows.details.rowsMax], [8, 5]);
    const limited = JSON.parse((await post(app, { ...ok(), limit: 5, offset: 1 })).body);
    assert.deepEqual(limited.rows, [['n1'], ['n2'], ['n3'], ['n4'], ['n5']]);
    assertError(await post(app, { ...ok(), limit: 6 }), 400, 'invalid_query');
    const join = assertError(await post(app, ok([T, { type: 'T', id: '?y' }], [{ count: '?x' }])), 413, 'result_too_large')['error'];
    assert.equal(join.details.stage, 'join');
  }, { queryRowsMax: 5, queryBindingsMax: 40 });
});

test('speculative ops that abort answer 409 tx_aborted with the abort code and op index', async () => {
  await withApp(async ({ app }) => {
    await seed(app, 1);
    const res = await post(app, { ...ok(), with: [{ op: 'create', id: 'fresh', type: 'T' }, { op: 'create', id: 'n0', type: 'T' }] });
    const error = assertError(res, 409, 'tx_aborted')['error'];
    assert.deepEqual([error.details.abort, error.details.op], ['entity_exists', 1]);
  });
});
