// Publish routes: outcomes (200 committed, 409 aborted, 202 pending, duplicates), batches, and every
// kind of bad input rejected with its stable code, leaving the graph exactly as it was.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { assertError, get, json, publish, seedShop, withApp } from './helpers.js';

const G = 'shop';

test('a committed tx answers 200 with offset, status and ISO time; the read at that offset sees it', async () => {
  await withApp(async ({ app }) => {
    const body = await publish(app, G, { ops: [{ op: 'create', id: 'a', type: 'Thing' }] });
    assert.equal(body['status'], 'committed');
    assert.equal(body['offset'], 0);
    assert.ok(!Number.isNaN(Date.parse(body['time'])));
    assert.equal(body['duplicate'], undefined);
    const entity = await get(app, `/v1/graphs/${G}/entities/a?at=0`);
    assert.equal(entity['type'], 'Thing');
  });
});

test('an aborted tx answers 409 with the abort code and the failing op index', async () => {
  await withApp(async ({ app }) => {
    await publish(app, G, { ops: [{ op: 'create', id: 'a', type: 'Thing' }] });
    const body = await publish(app, G, { ops: [{ op: 'create', id: 'b', type: 'Thing' }, { op: 'create', id: 'a', type: 'Thing' }] }, 409);
    assert.equal(body['status'], 'aborted');
    assert.equal(body['offset'], 1);
    assert.equal(body['error'].code, 'entity_exists');
    assert.equal(body['error'].op, 1);
    assert.equal(typeof body['error'].message, 'string');
    await get(app, `/v1/graphs/${G}/entities/b`, 404);
  });
});

test('a value of the wrong type for a defined attribute aborts with type_mismatch and changes nothing', async () => {
  await withApp(async ({ app }) => {
    await seedShop(app, G);
    const before = await get(app, `/v1/graphs/${G}/entities/order%2F42`);
    const body = await publish(app, G, { ops: [{ op: 'set', id: 'order/42', attr: 'total', value: 'lots' }] }, 409);
    assert.equal(body['error'].code, 'type_mismatch');
    const after = await get(app, `/v1/graphs/${G}/entities/order%2F42`);
    assert.deepEqual({ ...after, basis: 0 }, { ...before, basis: 0 });
  });
});

test('republishing an idempotency key returns the original outcome with duplicate: true', async () => {
  await withApp(async ({ app }) => {
    const tx = { id: 'key-1', ops: [{ op: 'create', id: 'a', type: 'Thing' }] };
    const first = await publish(app, G, tx);
    const again = await publish(app, G, tx);
    assert.equal(again['duplicate'], true);
    assert.equal(again['status'], 'committed');
    assert.equal(again['offset'], first['offset']);
  });
});

test('wait=false answers 202 pending at once; the tx is then readable with minBasis', async () => {
  await withApp(async ({ app }) => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/graphs/${G}/transactions?wait=false`,
      payload: { ops: [{ op: 'create', id: 'a', type: 'Thing' }] },
    });
    assert.equal(res.statusCode, 202, res.body);
    const body = json(res);
    assert.deepEqual(body, { offset: 0, status: 'pending' });
    const entity = await get(app, `/v1/graphs/${G}/entities/a?minBasis=0`);
    assert.equal(entity['basis'], 0);
  });
});

test('a batch publishes every tx in order with one result each (committed, aborted, duplicate)', async () => {
  await withApp(async ({ app }) => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/graphs/${G}/transactions:batch`,
      payload: {
        transactions: [
          { id: 'k1', ops: [{ op: 'create', id: 'a', type: 'Thing' }] },
          { ops: [{ op: 'create', id: 'a', type: 'Thing' }] },
          { ops: [{ op: 'create', id: 'b', type: 'Thing' }] },
          { id: 'k1', ops: [{ op: 'create', id: 'a', type: 'Thing' }] },
        ],
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    const { results } = json(res);
    assert.deepEqual(results.map((r: { status: string }) => r.status), ['committed', 'aborted', 'committed', 'committed']);
    assert.deepEqual(results.map((r: { offset: number }) => r.offset), [0, 1, 2, 0]);
    assert.equal(results[1].error.code, 'entity_exists');
    assert.equal(results[3].duplicate, true);
    const empty = await app.inject({ method: 'POST', url: `/v1/graphs/${G}/transactions:batch`, payload: { transactions: [] } });
    assert.deepEqual(json(empty), { results: [] });
  });
});

/** Sends a request that must be rejected with `code` and asserts the graph did not change at all. */
async function rejects(app: FastifyInstance, request: InjectOptions, status: number, code: string) {
  const before = await get(app, `/v1/graphs/${G}`);
  const res = await app.inject(request);
  const body = assertError(res, status, code);
  assert.deepEqual(await get(app, `/v1/graphs/${G}`), before, 'the graph is unchanged');
  return body;
}

const url = `/v1/graphs/${G}/transactions`;
const headers = { 'content-type': 'application/json' };

test('static errors are 4xx with stable codes and publish nothing', async () => {
  await withApp(
    async ({ app }) => {
      await seedShop(app, G);
      await rejects(app, { method: 'POST', url, headers, payload: '{"ops": [' }, 400, 'invalid_json');
      await rejects(app, { method: 'POST', url, headers, payload: '' }, 400, 'invalid_json');
      await rejects(app, { method: 'POST', url, payload: { ops: [{ op: 'explode', id: 'x' }] } }, 400, 'invalid_op');
      await rejects(app, { method: 'POST', url, payload: { ops: [{ op: 'set', id: 'cust-1', attr: 'n', value: null }] } }, 400, 'invalid_value');
      await rejects(app, { method: 'POST', url, payload: { ops: [{ op: 'set', id: 'cust-1', attr: 'n', value: { $long: 'ten' } }] } }, 400, 'invalid_value');
      await rejects(app, { method: 'POST', url, payload: { ops: [{ op: 'set', id: 'cust-1', value: 'x' }] } }, 400, 'invalid_op');
      await rejects(app, { method: 'POST', url, payload: { ops: [{ op: 'create', id: '', type: 'T' }] } }, 400, 'invalid_id');
      await rejects(app, { method: 'POST', url, payload: { ops: 'create' } }, 400, 'invalid_request');
      await rejects(app, { method: 'POST', url, payload: [1, 2] }, 400, 'invalid_request');
      await rejects(app, { method: 'POST', url: `${url}?wait=maybe`, payload: { ops: [] } }, 400, 'invalid_request');
      await rejects(app, { method: 'POST', url: `${url}?colour=red`, payload: { ops: [] } }, 400, 'invalid_request');
      const ops = Array.from({ length: 11 }, (_, i) => ({ op: 'create', id: `n${i}`, type: 'T' }));
      await rejects(app, { method: 'POST', url, payload: { ops } }, 413, 'too_many_ops');
    },
    { opsPerTxMax: 10 },
  );
});

test('oversized bodies, wrong content types and prototype poisoning are rejected', async () => {
  await withApp(
    async ({ app }) => {
      await seedShop(app, G);
      const big = { ops: [{ op: 'set', id: 'cust-1', attr: 'note', value: 'x'.repeat(5000) }] };
      await rejects(app, { method: 'POST', url, payload: big }, 413, 'payload_too_large');
      // The batch route has its own, larger limit: a body fine for it is still bounded by it.
      const batchUrl = `/v1/graphs/${G}/transactions:batch`;
      const bigBatch = { transactions: [1, 2, 3].map(() => big) };
      await rejects(app, { method: 'POST', url: batchUrl, payload: bigBatch }, 413, 'payload_too_large');
      // Within the batch limit, but one tx is over the single-tx limit: rejected, not logged as invalid_record.
      const bigTx = await rejects(app, { method: 'POST', url: batchUrl, payload: { transactions: [{ ops: [{ op: 'create', id: 'q', type: 'T' }] }, big] } }, 413, 'payload_too_large');
      assert.equal(bigTx['error'].details.transaction, 1);
      const small = { ops: [{ op: 'set', id: 'cust-1', attr: 'note', value: 'x'.repeat(3000) }] };
      const okBatch = await app.inject({ method: 'POST', url: batchUrl, payload: { transactions: [small, small] } });
      assert.equal(okBatch.statusCode, 200, okBatch.body);
      assert.equal(okBatch.json().results[0].status, 'committed', okBatch.body);
      const text = { method: 'POST' as const, url, headers: { 'content-type': 'text/plain' }, payload: '{"ops":[]}' };
      await rejects(app, text, 415, 'unsupported_media_type');
      const form = { method: 'POST' as const, url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' };
      await rejects(app, form, 415, 'unsupported_media_type');
      const proto = '{"ops":[],"__proto__":{"polluted":true}}';
      await rejects(app, { method: 'POST', url, headers, payload: proto }, 400, 'invalid_json');
      const ctor = '{"ops":[],"constructor":{"prototype":{"polluted":true}}}';
      await rejects(app, { method: 'POST', url, headers, payload: ctor }, 400, 'invalid_json');
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    },
    { txBodyBytesMax: 4096, batchBodyBytesMax: 8192 },
  );
});

test('bad batches are rejected whole, naming the faulty transaction', async () => {
  await withApp(
    async ({ app }) => {
      await seedShop(app, G);
      const batchUrl = `/v1/graphs/${G}/transactions:batch`;
      const good = { ops: [{ op: 'create', id: 'z', type: 'T' }] };
      const bad = await rejects(app, { method: 'POST', url: batchUrl, payload: { transactions: [good, { ops: [{ op: 'nope' }] }] } }, 400, 'invalid_op');
      assert.equal(bad['error'].details.transaction, 1);
      await rejects(app, { method: 'POST', url: batchUrl, payload: { transactions: [good, good, good, good] } }, 413, 'too_many_transactions');
      await rejects(app, { method: 'POST', url: batchUrl, payload: { transactions: good } }, 400, 'invalid_request');
      await rejects(app, { method: 'POST', url: batchUrl, payload: { txs: [good] } }, 400, 'invalid_request');
      await rejects(app, { method: 'POST', url: `/v1/graphs/${G}/transactions:bulk`, payload: { transactions: [good] } }, 404, 'route_not_found');
    },
    { batchTxMax: 3 },
  );
});

test('an invalid graph name is invalid_graph_name, before anything else', async () => {
  await withApp(async ({ app }) => {
    for (const name of ['Shop', '-shop', 'a'.repeat(64), 'sh%20op', '%E2%9C%93']) {
      const res = await app.inject({ method: 'POST', url: `/v1/graphs/${name}/transactions`, payload: { ops: [] } });
      assertError(res, 400, 'invalid_graph_name');
    }
    assert.deepEqual((await get(app, '/v1/graphs'))['graphs'], []);
  });
});
