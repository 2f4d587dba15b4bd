// The limits of DESIGN §9 (docs/limits.md), each enforced over HTTP at its default value and at a
// configured one, with its documented error code: ops per tx, tx body, value size, id length, query
// time, page size and SSE clients (the SSE client limit and the lagged close are exercised in detail by
// events.test.ts; here the limit's configurability and code are checked once more end to end).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import { ERRORS } from '../../src/core/errors.js';
import { assertError, json, publish, withApp } from './helpers.js';

const G = 'lim';
const post = (app: FastifyInstance, url: string, payload: unknown) =>
  app.inject({ method: 'POST', url, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
const creates = (n: number, prefix = 'n') => ({ ops: Array.from({ length: n }, (_, i) => ({ op: 'create', id: `${prefix}${i}`, type: 'T' })) });

test('§9 defaults are the documented values', () => {
  const d = DEFAULT_LIMITS;
  assert.deepEqual(
    [d.opsPerTxMax, d.txBodyBytesMax, d.valueBytesMax, d.idCharsMax, d.queryTimeMsMax, d.pageSizeMax, d.sseClientsMax],
    [10_000, 1024 * 1024, 64 * 1024, 256, 5_000, 1_000, 10_000],
  );
});

test('ops per tx ≤ 10,000: one more is 413 too_many_ops, nothing logged', async () => {
  await withApp(async ({ app }) => {
    assert.equal((await post(app, `/v1/graphs/${G}/transactions`, creates(10_000))).statusCode, 200);
    const res = await post(app, `/v1/graphs/${G}/transactions`, creates(10_001, 'm'));
    assertError(res, 413, 'too_many_ops');
    assert.equal(json(await app.inject({ method: 'GET', url: `/v1/graphs/${G}` }))['latestOffset'], 0);
  });
  await withApp(async ({ app }) => {
    assert.equal((await post(app, `/v1/graphs/${G}/transactions`, creates(3))).statusCode, 200);
    assertError(await post(app, `/v1/graphs/${G}/transactions`, creates(4, 'm')), 413, 'too_many_ops');
    assertError(await post(app, `/v1/graphs/${G}/transactions:batch`, { transactions: [creates(1, 'b'), creates(4, 'm')] }), 413, 'too_many_ops');
  }, { opsPerTxMax: 3 });
});

test('tx body ≤ 1 MiB (single and batch): larger is 413 payload_too_large', async () => {
  await withApp(async ({ app }) => {
    const filler = (bytes: number) => ({ meta: { pad: 'x' }, ops: [{ op: 'create', id: 'a', type: 'T' }, { op: 'set', id: 'a', attr: 'v', value: 'y'.repeat(bytes) }] });
    const tooBig = JSON.stringify(filler(DEFAULT_LIMITS.txBodyBytesMax));
    assert.ok(Buffer.byteLength(tooBig) > DEFAULT_LIMITS.txBodyBytesMax);
    const res = await app.inject({ method: 'POST', url: `/v1/graphs/${G}/transactions`, payload: tooBig, headers: { 'content-type': 'application/json' } });
    assertError(res, 413, 'payload_too_large');
    const batch = { transactions: Array.from({ length: 20 }, (_, i) => ({ ops: [{ op: 'create', id: `b${i}`, type: 'T' }, { op: 'set', id: `b${i}`, attr: 'v', value: 'z'.repeat(60_000) }] })) };
    assertError(await post(app, `/v1/graphs/${G}/transactions:batch`, batch), 413, 'payload_too_large');
  });
  await withApp(async ({ app }) => {
    assert.equal((await post(app, `/v1/graphs/${G}/transactions`, creates(5))).statusCode, 200);
    assertError(await post(app, `/v1/graphs/${G}/transactions`, creates(60, 'm')), 413, 'payload_too_large');
  }, { txBodyBytesMax: 1024 });
});

test('a value ≤ 64 KiB (UTF-8 bytes): one byte more is 400 invalid_value', async () => {
  await withApp(async ({ app }) => {
    const set = (id: string, value: string) => ({ ops: [{ op: 'create', id, type: 'T' }, { op: 'set', id, attr: 'v', value }] });
    assert.equal((await post(app, `/v1/graphs/${G}/transactions`, set('a', 'x'.repeat(64 * 1024)))).statusCode, 200);
    assertError(await post(app, `/v1/graphs/${G}/transactions`, set('b', 'x'.repeat(64 * 1024 + 1))), 400, 'invalid_value');
    // 'é' is two bytes: 32,769 of them exceed 64 KiB though they are only 32,769 characters.
    assertError(await post(app, `/v1/graphs/${G}/transactions`, set('c', 'é'.repeat(32 * 1024 + 1))), 400, 'invalid_value');
  });
  await withApp(async ({ app }) => {
    const res = await post(app, `/v1/graphs/${G}/transactions`, { ops: [{ op: 'create', id: 'a', type: 'T' }, { op: 'set', id: 'a', attr: 'v', value: 'x'.repeat(17) }] });
    assertError(res, 400, 'invalid_value');
  }, { valueBytesMax: 16 });
});

test('ids ≤ 256 characters, in bodies and in paths: longer is 400 invalid_id', async () => {
  await withApp(async ({ app }) => {
    const long = 'i'.repeat(256);
    assert.equal((await post(app, `/v1/graphs/${G}/transactions`, { ops: [{ op: 'create', id: long, type: 'T' }] })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: `/v1/graphs/${G}/entities/${long}` })).statusCode, 200);
    assertError(await post(app, `/v1/graphs/${G}/transactions`, { ops: [{ op: 'create', id: `${long}i`, type: 'T' }] }), 400, 'invalid_id');
    assertError(await app.inject({ method: 'GET', url: `/v1/graphs/${G}/entities/${long}i` }), 400, 'invalid_id');
    // Characters, not bytes or UTF-16 units: 256 astral characters are allowed.
    assert.equal((await post(app, `/v1/graphs/${G}/transactions`, { ops: [{ op: 'create', id: '😀'.repeat(256), type: 'T' }] })).statusCode, 200);
  });
  await withApp(async ({ app }) => {
    assertError(await post(app, `/v1/graphs/${G}/transactions`, { ops: [{ op: 'create', id: 'abcdefghi', type: 'T' }] }), 400, 'invalid_id');
  }, { idCharsMax: 8 });
});

test('query time ≤ the limit (a body may only lower it): 400 query_timeout', async () => {
  await withApp(async ({ app }) => {
    await publish(app, G, creates(300));
    const cross = { find: [{ count: '?y' }], where: [{ type: 'T', id: '?x' }, { type: 'T', id: '?y' }, { type: 'T', id: '?z' }, { pred: '=', args: ['?x', '?z'] }] };
    const res = await post(app, `/v1/graphs/${G}/query`, cross);
    assertError(res, 400, 'query_timeout');
    // A body may only lower the limit: asking for more is refused up front.
    const above = assertError(await post(app, `/v1/graphs/${G}/query`, { ...cross, timeoutMs: 60_000 }), 400, 'invalid_query');
    assert.equal(above['error'].details.pointer, '/timeoutMs');
  }, { queryTimeMsMax: 5 });
});

test('page size ≤ 1,000 for listings and the log view: larger is 400; default 100', async () => {
  await withApp(async ({ app }) => {
    await publish(app, G, creates(150));
    for (const path of [`/v1/graphs/${G}/entities?type=T`, `/v1/graphs/${G}/transactions?from=0`]) {
      assert.equal((await app.inject({ method: 'GET', url: `${path}&limit=1000` })).statusCode, 200, path);
      assertError(await app.inject({ method: 'GET', url: `${path}&limit=1001` }), 400, 'invalid_request');
      assertError(await app.inject({ method: 'GET', url: `${path}&limit=0` }), 400, 'invalid_request');
    }
    assert.equal(json(await app.inject({ method: 'GET', url: `/v1/graphs/${G}/entities?type=T` }))['items'].length, 100);
  });
  await withApp(async ({ app }) => {
    await publish(app, G, creates(12));
    assertError(await app.inject({ method: 'GET', url: `/v1/graphs/${G}/entities?type=T&limit=11` }), 400, 'invalid_request');
    assert.equal(json(await app.inject({ method: 'GET', url: `/v1/graphs/${G}/entities?type=T&limit=10` }))['items'].length, 10);
  }, { pageSizeMax: 10, pageSizeDefault: 5 });
});

test('SSE clients per process: the next subscriber is 429 too_many_subscribers (status from the registry)', async () => {
  assert.equal(ERRORS.too_many_subscribers.status, 429);
  await withApp(async ({ app }) => {
    await publish(app, G, creates(1));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    const url = `http://127.0.0.1:${address.port}/v1/graphs/${G}/events?from=0`;
    const open: AbortController[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const controller = new AbortController();
        open.push(controller);
        assert.equal((await fetch(url, { signal: controller.signal })).status, 200);
      }
      const refused = await fetch(url);
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'too_many_subscribers');
    } finally {
      for (const c of open) c.abort();
    }
  }, { sseClientsMax: 2 });
});
