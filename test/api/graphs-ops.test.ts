// Graph routes (list, describe, create) and operations routes (health, readiness, metrics, OpenAPI).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertError, get, json, publish, seedShop, withApp } from './helpers.js';

test('PUT creates a graph (201, then 200), GET lists and describes it', async () => {
  await withApp(async ({ app }) => {
    const created = await app.inject({ method: 'PUT', url: '/v1/graphs/inventory' });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(json(created)['name'], 'inventory');
    const again = await app.inject({ method: 'PUT', url: '/v1/graphs/inventory' });
    assert.equal(again.statusCode, 200, again.body);
    const last = await seedShop(app, 'shop');
    const list = await get(app, '/v1/graphs');
    assert.deepEqual(list['graphs'].map((g: { name: string }) => g.name).sort(), ['inventory', 'shop']);
    const res = await app.inject({ method: 'GET', url: '/v1/graphs/shop?minBasis=0' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['strata-basis'], String(last));
    const shop = json(res);
    assert.equal(shop['basis'], last);
    assert.equal(shop['latestOffset'], last);
    assert.equal(shop['materializedOffset'], last);
    assert.equal(shop['counts'].committed, 3);
    assert.ok('tags' in shop['schema'].attrs);
    const empty = await get(app, '/v1/graphs/inventory');
    assert.equal(empty['latestOffset'], -1);
  });
});

test('graph routes reject invalid names and unknown parameters', async () => {
  await withApp(async ({ app }) => {
    assertError(await app.inject({ method: 'PUT', url: '/v1/graphs/Not_Valid' }), 400, 'invalid_graph_name');
    assertError(await app.inject({ method: 'PUT', url: '/v1/graphs/.hidden' }), 400, 'invalid_graph_name');
    assertError(await app.inject({ method: 'GET', url: '/v1/graphs/x?at=1' }), 400, 'invalid_request');
    assertError(await app.inject({ method: 'DELETE', url: '/v1/graphs/x' }), 404, 'route_not_found');
    assert.deepEqual((await get(app, '/v1/graphs'))['graphs'], []);
  });
});

test('healthz and readyz answer; metrics expose the strata series after traffic', async () => {
  await withApp(async ({ app }) => {
    assert.deepEqual(await get(app, '/healthz'), { status: 'ok' });
    assert.deepEqual(await get(app, '/readyz'), { status: 'ready' });
    await publish(app, 'shop', { ops: [{ op: 'create', id: 'a', type: 'T' }] });
    await app.inject({ method: 'GET', url: '/v1/graphs/shop/entities/a' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/plain/);
    for (const name of [
      'strata_tx_published_total',
      'strata_tx_committed_total',
      'strata_tx_aborted_total',
      'strata_fold_duration_seconds',
      'strata_materializer_lag_offsets',
      'strata_materializer_lag_seconds',
      'strata_sse_clients',
      'strata_rocksdb_size_bytes',
      'strata_rocksdb_compactions_running',
      'strata_rocksdb_compaction_pending_bytes',
      'strata_cache_bytes',
      'strata_cache_entries',
      'strata_cache_bytes_max',
      'process_cpu_seconds_total',
    ]) {
      assert.match(res.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    // RocksDB's own figures, per graph: a fresh graph has nothing to compact.
    assert.match(res.body, /^strata_rocksdb_compactions_running\{graph="shop"\} 0$/m);
    assert.match(res.body, /^strata_rocksdb_compaction_pending_bytes\{graph="shop"\} 0$/m);
    assert.match(res.body, /strata_http_request_duration_seconds_count\{route="\/v1\/graphs\/:graph\/entities\/:id",method="GET",status="200"\} 1/);
  });
});

test('the OpenAPI document describes every route, with the literal colon of :batch', async () => {
  await withApp(async ({ app }) => {
    const doc = await get(app, '/docs');
    assert.deepEqual(await get(app, '/docs/openapi.json'), doc);
    assert.equal(doc['openapi'], '3.0.3');
    const paths = Object.keys(doc['paths']);
    for (const p of [
      '/v1/graphs',
      '/v1/graphs/{graph}',
      '/v1/graphs/{graph}/transactions',
      '/v1/graphs/{graph}/transactions:batch',
      '/v1/graphs/{graph}/transactions/{offset}',
      '/v1/graphs/{graph}/entities',
      '/v1/graphs/{graph}/entities/{id}',
      '/v1/graphs/{graph}/entities/{id}/history',
      '/v1/graphs/{graph}/diff',
      '/v1/graphs/{graph}/events',
      '/v1/graphs/{graph}/backup',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    }
    assert.ok(!paths.includes('/docs'));
    const backup = doc['paths']['/v1/graphs/{graph}/backup']['post'];
    assert.deepEqual(Object.keys(backup.requestBody.content['application/json'].schema.properties).sort(), ['checksum', 'name']);
    assert.ok(backup.responses['201'].content['application/json'].schema.properties.offset, 'the answer documents its offset');
    const params = doc['paths']['/v1/graphs/{graph}/entities']['get'].parameters.map((p: { name: string }) => p.name);
    assert.deepEqual(new Set(params), new Set(['graph', 'at', 'asOf', 'minBasis', 'type', 'where', 'limit', 'cursor']));
  });
});

test('no request shape makes the API answer 500', async () => {
  await withApp(async ({ app }) => {
    await seedShop(app, 'shop');
    const probes = [
      { method: 'GET' as const, url: '/v1/graphs/shop/entities/%E0%A4%A' },
      { method: 'GET' as const, url: '/v1/graphs/shop/entities/%00' },
      { method: 'GET' as const, url: '/v1/graphs/shop/entities?where=%3A' },
      { method: 'GET' as const, url: '/v1/graphs/shop/entities?where=a:%7B' },
      { method: 'GET' as const, url: '/v1/graphs/shop/entities?cursor=%FF%FE' },
      { method: 'GET' as const, url: '/v1/graphs/shop/transactions?from=1e3' },
      { method: 'GET' as const, url: '/v1/graphs/shop/diff?from=0&to=0&type=' },
      { method: 'POST' as const, url: '/v1/graphs/shop/transactions', payload: 'null', headers: { 'content-type': 'application/json' } },
      { method: 'POST' as const, url: '/v1/graphs/shop/transactions', payload: '"ops"', headers: { 'content-type': 'application/json' } },
      { method: 'POST' as const, url: '/v1/graphs/shop/transactions', payload: { ops: [{}] } },
      { method: 'POST' as const, url: '/v1/graphs/shop/transactions', payload: { ops: [{ op: 'set', id: 'a', attr: 'x', value: { $long: 'nope' } }] } },
      { method: 'POST' as const, url: '/v1/graphs/shop/transactions', payload: { ops: [], meta: { a: 1 } } },
      { method: 'POST' as const, url: '/v1/graphs/shop/transactions', payload: { ops: [{ op: 'create', id: 'x\u0001', type: 'T' }] } },
      { method: 'POST' as const, url: '/v1/graphs/shop/transactions:batch', payload: 'nope', headers: { 'content-type': 'application/json' } },
      { method: 'PUT' as const, url: '/v1/graphs/shop', payload: '{', headers: { 'content-type': 'application/json' } },
    ];
    for (const probe of probes) {
      const res = await app.inject(probe);
      assert.ok(res.statusCode < 500, `${probe.method} ${probe.url}: ${res.statusCode} ${res.body}`);
      if (res.statusCode >= 400) assert.equal(typeof json(res)['error'].code, 'string', res.body);
    }
  });
});
