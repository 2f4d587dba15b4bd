// The view routes over HTTP: PUT/DELETE publish definitions, GET reads definitions and paged rows as of
// any offset, the SSE stream resumes with Last-Event-ID / from= exactly once, and every error has its code.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertError, get, json, publish, withApp, type Json } from '../api/helpers.js';
import { openSse, type SseEvent } from '../helpers/sse.js';

const OPEN = { find: ['?o', '?total'], where: [{ id: '?o', attr: 'status', value: 'open' }, { id: '?o', attr: 'total', value: '?total' }] };

function order(id: string, status: string, total: number): object[] {
  return [{ op: 'create', id, type: 'Order' }, { op: 'set', id, attr: 'status', value: status }, { op: 'set', id, attr: 'total', value: total }];
}

async function put(app: FastifyInstance, name: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await app.inject({ method: 'PUT', url: `/v1/graphs/shop/views/${name}`, payload: body as object });
  return { status: res.statusCode, body: json(res) };
}

test('PUT defines, GET reads the definition and paged rows as of any offset, DELETE retires', async () => {
  await withApp(async ({ app }) => {
    await publish(app, 'shop', { ops: [...order('o1', 'open', 10), ...order('o2', 'open', 20), ...order('o3', 'closed', 30)] });
    const defined = await put(app, 'open-orders', { query: OPEN });
    assert.equal(defined.status, 200);
    assert.equal(defined.body['status'], 'committed');
    assert.equal(defined.body['view'], 'open-orders');
    const at = defined.body['offset'] as number;

    const info = await get(app, '/v1/graphs/shop/views/open-orders');
    assert.equal(info['definedAt'], at);
    assert.deepEqual(info['columns'], ['?o', '?total']);
    assert.deepEqual(info['query'], { find: ['?o', '?total'], where: OPEN.where.map((c) => ({ attr: c.attr, id: c.id, value: c.value })) });
    assert.deepEqual(info['maintenance'], { mode: 'incremental' });
    assert.deepEqual((await get(app, '/v1/graphs/shop/views'))['views'].map((v: Json) => v['name']), ['open-orders']);

    const first = await get(app, `/v1/graphs/shop/views/open-orders/rows?at=${at}&limit=1`);
    assert.deepEqual(first['rows'], [['o1', 10]]);
    await publish(app, 'shop', { ops: [{ op: 'set', id: 'o1', attr: 'status', value: 'closed' }] });
    // The cursor keeps the first page's basis: the change after it does not show on page two.
    const second = await get(app, `/v1/graphs/shop/views/open-orders/rows?limit=1&cursor=${first['next']}`);
    assert.equal(second['basis'], at);
    assert.deepEqual(second['rows'], [['o2', 20]]);
    assert.equal(second['next'], null);
    const latest = await get(app, '/v1/graphs/shop/views/open-orders/rows');
    assert.deepEqual(latest['rows'], [['o2', 20]]);

    const retired = await app.inject({ method: 'DELETE', url: '/v1/graphs/shop/views/open-orders' });
    assert.equal(retired.statusCode, 200, retired.body);
    assertError(await app.inject({ method: 'GET', url: '/v1/graphs/shop/views/open-orders/rows' }), 404, 'view_not_found');
    assert.deepEqual((await get(app, `/v1/graphs/shop/views/open-orders/rows?at=${at}`))['rows'], [['o1', 10], ['o2', 20]]);
    assertError(await app.inject({ method: 'DELETE', url: '/v1/graphs/shop/views/open-orders' }), 404, 'view_not_found');
  });
});

test('view errors over HTTP: the query pointer, names, cursors, offsets before the view', async () => {
  await withApp(async ({ app }) => {
    await publish(app, 'shop', { ops: order('o1', 'open', 10) });
    const bad = await put(app, 'v', { query: { find: ['?o'], where: [{ id: '?o', attr: 'status', value: '?s' }, { pred: 'between', args: ['?s', 1] }] } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body['error'].code, 'invalid_query');
    assert.equal(bad.body['error'].details.pointer, '/query/where/1/pred');
    assert.equal((await put(app, 'v', { query: { ...OPEN, orderBy: ['?o'] } })).body['error'].details.pointer, '/query/orderBy');
    assertError(await app.inject({ method: 'PUT', url: '/v1/graphs/shop/views/Not_Valid', payload: { query: OPEN } }), 400, 'invalid_view_name');
    assertError(await app.inject({ method: 'PUT', url: '/v1/graphs/shop/views/v', payload: { q: OPEN } }), 400, 'invalid_request');
    assertError(await app.inject({ method: 'GET', url: '/v1/graphs/shop/views/v' }), 404, 'view_not_found');
    assertError(await app.inject({ method: 'GET', url: '/v1/graphs/shop/views/v/events' }), 404, 'view_not_found');
    const { body } = await put(app, 'v', { query: OPEN });
    assertError(await app.inject({ method: 'GET', url: `/v1/graphs/shop/views/v/rows?at=${body['offset'] - 1}` }), 404, 'view_not_found');
    assertError(await app.inject({ method: 'GET', url: '/v1/graphs/shop/views/v/rows?cursor=bm9wZQ' }), 400, 'invalid_cursor');
    assertError(await app.inject({ method: 'GET', url: '/v1/graphs/shop/views/v/rows?at=99' }), 400, 'offset_out_of_range');
    // A defineView op in a plain transaction body is checked the same way.
    const viaTx = await app.inject({ method: 'POST', url: '/v1/graphs/shop/transactions', payload: { ops: [{ op: 'defineView', name: 'w', query: { find: ['?x'], where: [] } }] } });
    assert.equal(assertError(viaTx, 400, 'invalid_query')['error'].details.pointer, '/ops/0/query/where');
  });
});

test('a defineView op in a transaction, and its change, in their JSON forms', async () => {
  await withApp(async ({ app }) => {
    const r = await publish(app, 'shop', { ops: [...order('o1', 'open', 10), { op: 'defineView', name: 'v', query: OPEN }] });
    const logged = await get(app, `/v1/graphs/shop/transactions/${r['offset']}`);
    const query = { find: ['?o', '?total'], where: OPEN.where.map((c) => ({ attr: c.attr, id: c.id, value: c.value })) };
    assert.deepEqual(logged['ops'].at(-1), { op: 'defineView', name: 'v', query });
    assert.deepEqual(logged['changes'][0], { kind: 'schema', view: 'v', definition: { query } });
    assert.deepEqual((await get(app, '/v1/graphs/shop/views/v/rows'))['rows'], [['o1', 10]]);
    const paths = Object.keys((await get(app, '/docs/openapi.json'))['paths']);
    for (const p of ['/v1/graphs/{graph}/views', '/v1/graphs/{graph}/views/{name}', '/v1/graphs/{graph}/views/{name}/rows', '/v1/graphs/{graph}/views/{name}/events']) {
      assert.ok(paths.includes(p), `OpenAPI documents ${p}`);
    }
  });
});

async function take(events: AsyncGenerator<SseEvent>, n: number): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  while (out.length < n) {
    const { value, done } = await events.next();
    if (done) break;
    out.push(value);
  }
  return out;
}

test('the view SSE stream: catch-up then live, resumable with Last-Event-ID and from=, each delta once', async () => {
  await withApp(async ({ app }) => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address !== null && typeof address === 'object');
    const url = `http://127.0.0.1:${address.port}/v1/graphs/shop/views/open-orders/events`;
    await publish(app, 'shop', { ops: order('o1', 'open', 10) });
    const defined = (await put(app, 'open-orders', { query: OPEN })).body['offset'] as number;
    const closed = (await publish(app, 'shop', { ops: [{ op: 'set', id: 'o1', attr: 'status', value: 'closed' }] }))['offset'] as number;

    const sse = await openSse(`${url}?from=0`);
    assert.equal(sse.status, 200);
    const caughtUp = await take(sse.events, 2);
    assert.deepEqual(caughtUp.map((e) => [e.event, Number(e.id)]), [['delta', defined], ['delta', closed]]);
    assert.deepEqual(JSON.parse(caughtUp[0]!.data), { offset: defined, added: [['o1', 10]], removed: [] });
    const live = (await publish(app, 'shop', { ops: order('o2', 'open', 5) }))['offset'] as number;
    await publish(app, 'shop', { ops: [{ op: 'set', id: 'o1', attr: 'note', value: 'not in the view' }] });
    const [next] = await take(sse.events, 1);
    assert.deepEqual(JSON.parse(next!.data), { offset: live, added: [['o2', 5]], removed: [] });
    sse.close();

    const resumed = await openSse(url, { 'last-event-id': String(closed) });
    const [again] = await take(resumed.events, 1);
    assert.equal(Number(again!.id), live, 'resumes after the last event seen, with nothing repeated');
    resumed.close();
  });
});
