// Read routes as of a basis: entities (incl. percent-encoded ids), listings with stable cursors,
// history, diff, the log view; and their bad inputs (offsets, cursors, unknown graph or entity).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertError, get, publish, seedShop, withApp } from './helpers.js';

const G = 'shop';
const base = `/v1/graphs/${G}`;

test('an entity read carries its basis in the body and the Strata-Basis header', async () => {
  await withApp(async ({ app }) => {
    const last = await seedShop(app, G);
    const res = await app.inject({ method: 'GET', url: `${base}/entities/order%2F42` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['strata-basis'], String(last));
    const order = JSON.parse(res.body);
    assert.equal(order.basis, last);
    assert.equal(order.id, 'order/42');
    assert.equal(order.kind, 'node');
    assert.equal(order.type, 'Order');
    assert.equal(order.createdAt, last);
    assert.equal(order.attrs.status, 'open');
    assert.deepEqual(order.attrs.tags, ['rush']);
    assert.deepEqual(order.out, [{ id: 'placed-42', type: 'placedBy', to: 'cust-1' }]);
    const edge = await get(app, `${base}/entities/placed-42`);
    assert.equal(edge['kind'], 'edge');
    assert.equal(edge['from'], 'order/42');
    assert.equal(edge['to'], 'cust-1');
    const customer = await get(app, `${base}/entities/cust-1`);
    assert.deepEqual(customer['in'], [{ id: 'placed-42', type: 'placedBy', from: 'order/42' }]);
  });
});

test('at= and asOf= read past slices; an offset before creation is a 404', async () => {
  await withApp(async ({ app }) => {
    const last = await seedShop(app, G);
    await publish(app, G, { ops: [{ op: 'set', id: 'cust-1', attr: 'name', value: 'Ada L.' }] });
    assert.equal((await get(app, `${base}/entities/cust-1`))['attrs'].name, 'Ada L.');
    assert.equal((await get(app, `${base}/entities/cust-1?at=${last}`))['attrs'].name, 'Ada');
    const notYet = await app.inject({ method: 'GET', url: `${base}/entities/order%2F42?at=${last - 1}` });
    assertError(notYet, 404, 'entity_not_found');
    const tx = await get(app, `${base}/transactions/${last}`);
    const asOf = await get(app, `${base}/entities/cust-1?asOf=${encodeURIComponent(tx['time'])}`);
    assert.ok(asOf['basis'] >= last);
  });
});

test('bad, future and unknown offsets, graphs and entities are 4xx with stable codes', async () => {
  await withApp(async ({ app }) => {
    const last = await seedShop(app, G);
    const cases: [string, number, string][] = [
      [`${base}/entities/cust-1?at=abc`, 400, 'invalid_offset'],
      [`${base}/entities/cust-1?at=-1`, 400, 'invalid_offset'],
      [`${base}/entities/cust-1?at=1.5`, 400, 'invalid_offset'],
      [`${base}/entities/cust-1?asOf=yesterday`, 400, 'invalid_offset'],
      [`${base}/entities/cust-1?minBasis=x`, 400, 'invalid_offset'],
      [`${base}/entities/cust-1?at=${last + 100}`, 400, 'offset_out_of_range'],
      [`${base}/entities/cust-1?at=99999999999999999999`, 400, 'invalid_offset'],
      [`${base}/entities/cust-1?bogus=1`, 400, 'invalid_request'],
      [`${base}/entities/nobody`, 404, 'entity_not_found'],
      [`${base}/entities/nobody/history`, 404, 'entity_not_found'],
      [`/v1/graphs/nograph/entities/cust-1`, 404, 'graph_not_found'],
      [`/v1/graphs/nograph`, 404, 'graph_not_found'],
      [`/v1/graphs/nograph/diff?from=0`, 404, 'graph_not_found'],
      [`/v1/graphs/nograph/transactions`, 404, 'graph_not_found'],
      [`/v1/graphs/Bad!/entities/cust-1`, 400, 'invalid_graph_name'],
      [`${base}/transactions/abc`, 400, 'invalid_offset'],
      [`${base}/transactions/-3`, 400, 'invalid_offset'],
      [`${base}/transactions/${last + 100}`, 400, 'offset_out_of_range'],
      [`${base}/diff`, 400, 'invalid_request'],
      [`${base}/diff?from=zero`, 400, 'invalid_offset'],
      [`${base}/diff?from=0&to=${last + 100}`, 400, 'offset_out_of_range'],
      [`${base}/entities?limit=0`, 400, 'invalid_request'],
      [`${base}/entities?limit=100000`, 400, 'invalid_request'],
      [`${base}/entities?where=nocolon`, 400, 'invalid_request'],
      [`${base}/entities/${'x'.repeat(300)}`, 400, 'invalid_id'],
      [`/v2/nothing`, 404, 'route_not_found'],
    ];
    const before = await get(app, base);
    for (const [url, status, code] of cases) assertError(await app.inject({ method: 'GET', url }), status, code);
    assert.deepEqual(await get(app, base), before);
  });
});

test('history lists every committed change of the entity with offset and time, cut at the basis', async () => {
  await withApp(async ({ app }) => {
    const last = await seedShop(app, G);
    await publish(app, G, { ops: [{ op: 'set', id: 'order/42', attr: 'status', value: 'shipped' }] });
    const h = await get(app, `${base}/entities/order%2F42/history`);
    assert.equal(h['id'], 'order/42');
    assert.equal(h['basis'], last + 1);
    const kinds = h['changes'].map((c: { kind: string }) => c.kind);
    assert.equal(kinds[0], 'created');
    assert.deepEqual(h['changes'].at(-1), { ...h['changes'].at(-1), offset: last + 1, kind: 'set', attr: 'status', old: 'open', new: 'shipped' });
    assert.ok(h['changes'].every((c: { id: string; time: string }) => c.id === 'order/42' && !Number.isNaN(Date.parse(c.time))));
    const cut = await get(app, `${base}/entities/order%2F42/history?at=${last}`);
    assert.equal(cut['changes'].length, h['changes'].length - 1);
  });
});

test('diff covers (from, to], defaults to the latest slice, inverts when from > to, and filters', async () => {
  await withApp(async ({ app }) => {
    const last = await seedShop(app, G);
    await publish(app, G, { ops: [{ op: 'set', id: 'order/42', attr: 'status', value: 'shipped' }, { op: 'terminate', id: 'cust-2' }] });
    const d = await get(app, `${base}/diff?from=${last}`);
    assert.equal(d['from'], last);
    assert.equal(d['to'], last + 1);
    assert.equal(d['basis'], last + 1);
    assert.deepEqual(
      new Set(d['changes'].map((c: { kind: string; id: string }) => `${c.kind}:${c.id}`)),
      new Set(['set:order/42', 'terminated:cust-2']),
    );
    const inverse = await get(app, `${base}/diff?from=${last + 1}&to=${last}`);
    const back = inverse['changes'].find((c: { kind: string }) => c.kind === 'set');
    assert.deepEqual([back.old, back.new], ['shipped', 'open']);
    const whole = await get(app, `${base}/diff?from=-1&to=${last}`);
    assert.equal(whole['from'], -1);
    assert.ok(whole['changes'].some((c: { kind: string; id: string }) => c.kind === 'created' && c.id === 'order/42'));
    const byId = await get(app, `${base}/diff?from=${last}&id=cust-2`);
    assert.deepEqual(byId['changes'], [{ kind: 'terminated', id: 'cust-2' }]);
    const byType = await get(app, `${base}/diff?from=0&to=${last}&type=Customer`);
    assert.ok(byType['changes'].length > 0);
    assert.ok(byType['changes'].every((c: { id: string }) => c.id.startsWith('cust-')));
  });
});

test('listing filters by type and where (JSON values), pages with a cursor that keeps the basis', async () => {
  await withApp(async ({ app }) => {
    await seedShop(app, G);
    const ops = Array.from({ length: 5 }, (_, i) => [
      { op: 'create', id: `p${i}`, type: 'Product' },
      { op: 'set', id: `p${i}`, attr: 'price', value: i % 2 },
    ]).flat();
    const { offset } = await publish(app, G, { ops });
    const page1 = await get(app, `${base}/entities?type=Product&limit=2`);
    assert.equal(page1['basis'], offset);
    assert.deepEqual(page1['items'].map((e: { id: string }) => e.id), ['p0', 'p1']);
    assert.equal(typeof page1['next'], 'string');
    // A write between pages must not leak into later pages of the same listing.
    await publish(app, G, { ops: [{ op: 'create', id: 'p0a', type: 'Product' }] });
    const page2 = await get(app, `${base}/entities?type=Product&limit=2&cursor=${page1['next']}`);
    assert.equal(page2['basis'], offset);
    assert.deepEqual(page2['items'].map((e: { id: string }) => e.id), ['p2', 'p3']);
    const page3 = await get(app, `${base}/entities?type=Product&limit=2&cursor=${page2['next']}`);
    assert.deepEqual(page3['items'].map((e: { id: string }) => e.id), ['p4']);
    assert.equal(page3['next'], null);
    const odd = await get(app, `${base}/entities?type=Product&where=price:1`);
    assert.deepEqual(odd['items'].map((e: { id: string }) => e.id), ['p1', 'p3']);
    const named = await get(app, `${base}/entities?where=name:Ada&where=${encodeURIComponent('name:"Ada"')}`);
    assert.deepEqual(named['items'].map((e: { id: string }) => e.id), ['cust-1']);
    const edges = await get(app, `${base}/entities?type=placedBy`);
    assert.equal(edges['items'][0].kind, 'edge');
  });
});

test('a cursor used with other filters or another basis, or a forged one, is invalid_cursor', async () => {
  await withApp(async ({ app }) => {
    const last = await seedShop(app, G);
    const page1 = await get(app, `${base}/entities?type=Customer&limit=1`);
    const next = page1['next'] as string;
    const bad = [
      `${base}/entities?type=Order&cursor=${next}`,
      `${base}/entities?cursor=${next}`,
      `${base}/entities?type=Customer&where=name:Ada&cursor=${next}`,
      `${base}/entities?type=Customer&cursor=not-a-cursor`,
      `${base}/entities?type=Customer&cursor=${Buffer.from('{"basis":"x"}').toString('base64url')}`,
      `${base}/entities?type=Customer&at=0&cursor=${next}`,
    ];
    for (const url of bad) assertError(await app.inject({ method: 'GET', url }), 400, 'invalid_cursor');
    const same = await get(app, `${base}/entities?type=Customer&at=${last}&cursor=${next}`);
    assert.deepEqual(same['items'].map((e: { id: string }) => e.id), ['cust-2']);
  });
});

test('the log view pages forward by offset; one tx reads by offset', async () => {
  await withApp(async ({ app }) => {
    const last = await seedShop(app, G);
    await publish(app, G, { ops: [{ op: 'create', id: 'cust-1', type: 'Customer' }] }, 409);
    const page1 = await get(app, `${base}/transactions?limit=2`);
    assert.equal(page1['basis'], last + 1);
    assert.deepEqual(page1['items'].map((t: { offset: number }) => t.offset), [0, 1]);
    assert.equal(page1['next'], 2);
    const page2 = await get(app, `${base}/transactions?from=${page1['next']}&limit=10`);
    assert.deepEqual(page2['items'].map((t: { offset: number; status: string }) => [t.offset, t.status]), [
      [2, 'committed'],
      [3, 'aborted'],
    ]);
    assert.equal(page2['next'], null);
    const placed = await get(app, `${base}/transactions/${last}`);
    assert.equal(placed['id'], 'order-42-placed');
    assert.deepEqual(placed['meta'], { author: 'svc-orders' });
    assert.equal(placed['ops'].length, 5);
    const aborted = await get(app, `${base}/transactions/${last + 1}`);
    assert.equal(aborted['error'].code, 'entity_exists');
    const capped = await get(app, `${base}/transactions?at=1`);
    assert.deepEqual(capped['items'].map((t: { offset: number }) => t.offset), [0, 1]);
  });
});
