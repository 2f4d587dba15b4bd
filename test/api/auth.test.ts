// Access control, audit, rate limits and CORS (docs/security.md): bearer tokens with per-graph scopes,
// 401/403 with stable codes, the principal recorded as meta.author, per-token rate limits, CORS only
// when configured, and the CLI's exposure rule (no tokens → loopback only unless --insecure).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import type { SecurityOptions } from '../../src/api/auth.js';
import { findToken, hasScope, parseTokenConfig, sha256, TokenConfigError } from '../../src/api/tokens.js';
import { exposure, exposureMessage, isLoopback, limitEnvName, loadLimits, loadTokens } from '../../src/cli/hardening.js';
import { ConfigError } from '../../src/cli/config.js';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import { openStrata } from '../../src/strata.js';
import { freePort, kill, runCli, startServer, waitReady } from '../helpers/child.js';
import { assertError, json } from './helpers.js';

const TOKENS = {
  reader: 'reader-token-0123456789',
  writer: 'writer-token-0123456789',
  admin: 'admin-token-0123456789ab',
  limited: 'limited-token-0123456789',
};

const CONFIG = [
  { principal: 'svc-reader', token: TOKENS.reader, scopes: { shop: ['read'] } },
  { principal: 'svc-orders', tokenSha256: sha256(TOKENS.writer).toString('hex'), scopes: { shop: ['write'], audit: ['read', 'write'] } },
  { name: 'ops', token: TOKENS.admin, scopes: { '*': ['admin'] } },
  { principal: 'svc-limited', token: TOKENS.limited, scopes: { '*': ['read'] }, rateLimit: { max: 3, windowMs: 60_000 } },
];

async function withSecuredApp(fn: (app: FastifyInstance) => Promise<void>, security: Partial<SecurityOptions> = {}): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-auth-'));
  const db = await openStrata({ dataDir });
  const options: SecurityOptions = { tokens: parseTokenConfig(CONFIG, 'test'), rateLimit: { max: 1000, windowMs: 60_000 }, corsOrigins: [], ...security };
  const app = await buildApp({ db, security: options });
  try {
    await fn(app);
  } finally {
    await app.close();
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function as(token: string | null, headers: Record<string, string> = {}): Record<string, string> {
  return token === null ? headers : { ...headers, authorization: `Bearer ${token}` };
}

async function call(app: FastifyInstance, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token: string | null, payload?: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method, url, headers: as(token), ...(payload === undefined ? {} : { payload: payload as object }) });
}

const createOrder = (id: string, meta?: Record<string, string>) => ({ ...(meta ? { meta } : {}), ops: [{ op: 'create', id, type: 'Order' }] });

test('without a valid bearer token every data route is 401 unauthorized; probes and docs stay open', async () => {
  await withSecuredApp(async (app) => {
    for (const [method, url] of [['GET', '/v1/graphs'], ['GET', '/v1/graphs/shop'], ['GET', '/v1/graphs/shop/entities/x'], ['POST', '/v1/graphs/shop/transactions'], ['GET', '/metrics'], ['GET', '/no/such/route']] as const) {
      const res = await call(app, method, url, null, method === 'POST' ? createOrder('o1') : undefined);
      assertError(res, 401, 'unauthorized');
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="strata"');
    }
    for (const header of ['Bearer nope-not-a-token-at-all', 'Basic dXNlcjpwYXNz', 'Bearer', `Bearer ${TOKENS.reader}x`, `bearer  ${TOKENS.reader.slice(1)}`]) {
      assertError(await app.inject({ method: 'GET', url: '/v1/graphs', headers: { authorization: header } }), 401, 'unauthorized');
    }
    for (const url of ['/healthz', '/readyz', '/docs/openapi.json']) assert.equal((await call(app, 'GET', url, null)).statusCode, 200, url);
    // The scheme is case-insensitive (RFC 7235).
    assert.equal((await app.inject({ method: 'GET', url: '/v1/graphs', headers: { authorization: `bearer ${TOKENS.reader}` } })).statusCode, 200);
  });
});

test('scopes are per graph: read, write and admin (admin implies both; * covers every graph); 403 forbidden otherwise', async () => {
  await withSecuredApp(async (app) => {
    assertError(await call(app, 'PUT', '/v1/graphs/shop', TOKENS.writer), 403, 'forbidden');
    assert.equal((await call(app, 'PUT', '/v1/graphs/shop', TOKENS.admin)).statusCode, 201);
    assert.equal((await call(app, 'POST', '/v1/graphs/shop/transactions', TOKENS.writer, createOrder('o1'))).statusCode, 200);
    const denied = assertError(await call(app, 'POST', '/v1/graphs/shop/transactions', TOKENS.reader, createOrder('o2')), 403, 'forbidden');
    assert.deepEqual(denied['error'].details, { graph: 'shop', scope: 'write' });
    assertError(await call(app, 'POST', '/v1/graphs/other/transactions', TOKENS.writer, createOrder('o3')), 403, 'forbidden');
    assertError(await call(app, 'POST', '/v1/graphs/shop/transactions:batch', TOKENS.reader, { transactions: [createOrder('o4')] }), 403, 'forbidden');
    // write does not imply read
    assertError(await call(app, 'GET', '/v1/graphs/shop/entities/o1', TOKENS.writer), 403, 'forbidden');
    for (const url of ['/v1/graphs/shop/entities/o1', '/v1/graphs/shop/transactions?from=0', '/v1/graphs/shop/checksum', '/v1/graphs/shop/diff?from=-1']) {
      assert.equal((await call(app, 'GET', url, TOKENS.reader)).statusCode, 200, url);
      assert.equal((await call(app, 'GET', url, TOKENS.admin)).statusCode, 200, url);
    }
    assert.equal((await call(app, 'POST', '/v1/graphs/shop/query', TOKENS.reader, { find: ['?e'], where: [['?e', 'type', 'Order']] })).statusCode !== 403, true);
    assert.equal((await call(app, 'POST', '/v1/graphs/audit/transactions', TOKENS.admin, createOrder('a1'))).statusCode, 200);
    // The graph listing shows only what the token may read.
    assert.deepEqual(json(await call(app, 'GET', '/v1/graphs', TOKENS.reader))['graphs'].map((g: { name: string }) => g.name), ['shop']);
    assert.deepEqual(json(await call(app, 'GET', '/v1/graphs', TOKENS.writer))['graphs'].map((g: { name: string }) => g.name), ['audit']);
    assert.deepEqual(json(await call(app, 'GET', '/v1/graphs', TOKENS.admin))['graphs'].map((g: { name: string }) => g.name), ['audit', 'shop']);
    // Authenticated but unknown route: a 404, not a 401.
    assertError(await call(app, 'GET', '/no/such/route', TOKENS.reader), 404, 'route_not_found');
    assert.equal((await call(app, 'GET', '/metrics', TOKENS.reader)).statusCode, 200);
  });
});

test("the token's principal is recorded as meta.author; a spoofed author is kept as meta.claimedAuthor", async () => {
  await withSecuredApp(async (app) => {
    const publish = async (body: unknown) => json(await call(app, 'POST', '/v1/graphs/audit/transactions', TOKENS.writer, body))['offset'] as number;
    const meta = async (offset: number) => json(await call(app, 'GET', `/v1/graphs/audit/transactions/${offset}`, TOKENS.admin))['meta'];
    assert.deepEqual(await meta(await publish(createOrder('a1'))), { author: 'svc-orders' });
    assert.deepEqual(await meta(await publish(createOrder('a2', { author: 'mallory', reason: 'r' }))), { author: 'svc-orders', claimedAuthor: 'mallory', reason: 'r' });
    assert.deepEqual(await meta(await publish(createOrder('a3', { author: 'svc-orders' }))), { author: 'svc-orders' });
    // claimedAuthor is reserved: a body cannot plant one.
    assert.deepEqual(await meta(await publish(createOrder('a4', { claimedAuthor: 'ops' }))), { author: 'svc-orders' });
    const batch = json(await call(app, 'POST', '/v1/graphs/audit/transactions:batch', TOKENS.writer, { transactions: [createOrder('a5', { author: 'ops' }), createOrder('a6')] }));
    const offsets = batch['results'].map((r: { offset: number }) => r.offset);
    assert.deepEqual(await meta(offsets[0]), { author: 'svc-orders', claimedAuthor: 'ops' });
    assert.deepEqual(await meta(offsets[1]), { author: 'svc-orders' });
    // A meta that is not an object is still the codec's 400, not silently replaced.
    assertError(await call(app, 'POST', '/v1/graphs/audit/transactions', TOKENS.writer, { meta: 'x', ops: [{ op: 'create', id: 'a7', type: 'T' }] }), 400, 'invalid_request');
  });
});

test('view definitions and retirements record the principal as meta.author', async () => {
  await withSecuredApp(async (app) => {
    const query = { find: ['?o'], where: [{ type: 'Order', id: '?o' }] };
    const defined = await call(app, 'PUT', '/v1/graphs/audit/views/orders', TOKENS.admin, { query });
    assert.equal(defined.statusCode, 200, defined.body);
    const retired = await call(app, 'DELETE', '/v1/graphs/audit/views/orders', TOKENS.admin);
    assert.equal(retired.statusCode, 200, retired.body);
    for (const res of [defined, retired]) {
      const tx = json(await call(app, 'GET', `/v1/graphs/audit/transactions/${json(res)['offset']}`, TOKENS.admin));
      assert.deepEqual(tx['meta'], { author: 'ops' });
    }
  });
});

test('rate limits are per token (429 rate_limited with Retry-After); other tokens are unaffected', async () => {
  await withSecuredApp(async (app) => {
    for (let i = 0; i < 3; i++) assert.equal((await call(app, 'GET', '/v1/graphs', TOKENS.limited)).statusCode, 200);
    const res = await call(app, 'GET', '/v1/graphs', TOKENS.limited);
    assertError(res, 429, 'rate_limited');
    assert.ok(Number(res.headers['retry-after']) > 0, String(res.headers['retry-after']));
    assert.equal((await call(app, 'GET', '/v1/graphs', TOKENS.reader)).statusCode, 200);
    assert.equal((await call(app, 'GET', '/healthz', null)).statusCode, 200);
  });
  // Before authentication, requests (bad tokens included) are counted per address.
  await withSecuredApp(async (app) => {
    for (let i = 0; i < 2; i++) assertError(await call(app, 'GET', '/v1/graphs', 'wrong-token-0123456789'), 401, 'unauthorized');
    assertError(await call(app, 'GET', '/v1/graphs', 'wrong-token-0123456789'), 429, 'rate_limited');
  }, { rateLimit: { max: 2, windowMs: 60_000 } });
});

test('CORS is off unless origins are configured; preflights need no token', async () => {
  await withSecuredApp(async (app) => {
    const res = await app.inject({ method: 'GET', url: '/v1/graphs', headers: as(TOKENS.admin, { origin: 'https://app.example' }) });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });
  await withSecuredApp(async (app) => {
    const ok = await app.inject({ method: 'GET', url: '/v1/graphs', headers: as(TOKENS.admin, { origin: 'https://app.example' }) });
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example');
    const other = await app.inject({ method: 'GET', url: '/v1/graphs', headers: as(TOKENS.admin, { origin: 'https://evil.example' }) });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const preflight = await app.inject({
      method: 'OPTIONS', url: '/v1/graphs/shop/transactions',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(preflight.statusCode, 204);
    assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
  }, { corsOrigins: ['https://app.example'] });
});

test('token configuration: plaintext tokens are hashed at load, entries are validated, lookup is exact', () => {
  const entries = parseTokenConfig(CONFIG, 'test');
  assert.ok(!JSON.stringify(entries.map((e) => ({ ...e, sha256: e.sha256.toString('hex') }))).includes(TOKENS.reader), 'no plaintext token is kept');
  assert.equal(findToken(entries, TOKENS.writer)?.principal, 'svc-orders');
  assert.equal(findToken(entries, TOKENS.admin)?.principal, 'ops');
  assert.equal(findToken(entries, TOKENS.admin.slice(0, -1)), null);
  assert.equal(findToken(entries, ''), null);
  const admin = findToken(entries, TOKENS.admin)!;
  assert.ok(hasScope(admin, 'anything', 'write') && hasScope(admin, null, 'read'));
  const reader = findToken(entries, TOKENS.reader)!;
  assert.ok(hasScope(reader, 'shop', 'read') && !hasScope(reader, 'shop', 'write') && !hasScope(reader, 'other', 'read'));
  const bad: unknown[] = [
    {},
    [{ principal: 'p', token: 'short', scopes: {} }],
    [{ principal: 'p', token: TOKENS.reader, tokenSha256: 'ab', scopes: {} }],
    [{ principal: 'p', tokenSha256: 'xyz', scopes: {} }],
    [{ principal: 'p', token: TOKENS.reader, scopes: { shop: ['delete'] } }],
    [{ principal: 'p', token: TOKENS.reader, scopes: { 'Bad Graph': ['read'] } }],
    [{ principal: '', token: TOKENS.reader, scopes: {} }],
    [{ principal: 'p', token: TOKENS.reader, scopes: {}, extra: 1 }],
    [{ principal: 'p', token: TOKENS.reader, scopes: {}, rateLimit: { max: 0, windowMs: 1 } }],
    [{ principal: 'p', token: TOKENS.reader, scopes: {} }, { principal: 'q', token: TOKENS.reader, scopes: {} }],
  ];
  for (const config of bad) assert.throws(() => parseTokenConfig(config, 'bad'), TokenConfigError, JSON.stringify(config));
});

test('CLI hardening: exposure rule, limits from a file and STRATA_LIMIT_* variables, tokens from file or env', async () => {
  const entries = parseTokenConfig(CONFIG, 'test');
  assert.equal(exposure('127.0.0.1', [], false), 'dev-loopback');
  assert.equal(exposure('::1', [], false), 'dev-loopback');
  assert.equal(exposure('localhost', [], false), 'dev-loopback');
  assert.throws(() => exposure('0.0.0.0', [], false), ConfigError);
  assert.throws(() => exposure('10.1.2.3', [], false), ConfigError);
  assert.equal(exposure('0.0.0.0', [], true), 'insecure');
  assert.equal(exposure('0.0.0.0', entries, false), 'secured');
  assert.ok(isLoopback('127.8.9.10') && !isLoopback('128.0.0.1') && !isLoopback('::'));
  assert.equal(limitEnvName('opsPerTxMax'), 'STRATA_LIMIT_OPS_PER_TX_MAX');
  const dir = await mkdtemp(join(tmpdir(), 'strata-cli-'));
  try {
    const file = join(dir, 'limits.json');
    await writeFile(file, JSON.stringify({ opsPerTxMax: 50, pageSizeMax: 20 }));
    const limits = loadLimits(file, { STRATA_LIMIT_PAGE_SIZE_MAX: '10', STRATA_LIMIT_SSE_CLIENTS_MAX: '7' });
    assert.deepEqual([limits.opsPerTxMax, limits.pageSizeMax, limits.sseClientsMax, limits.txBodyBytesMax], [50, 10, 7, DEFAULT_LIMITS.txBodyBytesMax]);
    assert.throws(() => loadLimits(null, { STRATA_LIMIT_OPS_PER_TX: '5' }), ConfigError);
    assert.throws(() => loadLimits(null, { STRATA_LIMIT_OPS_PER_TX_MAX: '-5' }), ConfigError);
    await writeFile(file, JSON.stringify({ opsPerTx: 5 }));
    assert.throws(() => loadLimits(file, {}), ConfigError);
    const tokensFile = join(dir, 'tokens.json');
    await writeFile(tokensFile, JSON.stringify(CONFIG));
    assert.equal(loadTokens(tokensFile, {}).length, 4);
    assert.equal(loadTokens(null, { STRATA_TOKENS: JSON.stringify(CONFIG.slice(0, 1)) }).length, 1);
    assert.throws(() => loadTokens(tokensFile, { STRATA_TOKENS: '[]' }), ConfigError);
    assert.throws(() => loadTokens(null, { STRATA_TOKENS: '{' }), ConfigError);
    assert.deepEqual(loadTokens(null, {}), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const message = exposureMessage({ limits: DEFAULT_LIMITS, security: { tokens: [], rateLimit: { max: 1, windowMs: 1 }, corsOrigins: [] }, exposure: 'dev-loopback' }, '127.0.0.1');
  assert.match(message.message, /^dev mode: no access control/);
});

test('strata start: refuses a non-loopback host without tokens, says dev mode on loopback, enforces tokens when configured', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-auth-cli-'));
  try {
    const refused = await runCli(['start', '--host', '0.0.0.0', '--port', '0', '--data-dir', dir]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.output.join('\n'), /refusing to listen on 0\.0\.0\.0 without access control/);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const dev = startServer(port, dir, ['--log-level', 'info']);
    await waitReady(base, dev);
    await kill(dev, 'SIGTERM');
    assert.ok(dev.output.some((l) => l.includes('dev mode: no access control')), dev.output.join('\n'));

    const secured = startServer(port, dir, ['--host', '0.0.0.0', '--log-level', 'info'], { STRATA_TOKENS: JSON.stringify(CONFIG) });
    await waitReady(base, secured);
    try {
      assert.ok(secured.output.some((l) => l.includes('access control on: 4 bearer token(s)')), secured.output.join('\n'));
      assert.equal((await fetch(`${base}/v1/graphs`)).status, 401);
      const ok = await fetch(`${base}/v1/graphs/shop/transactions`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.writer}`, 'content-type': 'application/json' }, body: JSON.stringify(createOrder('c1', { author: 'x' })) });
      assert.equal(ok.status, 200);
      const tx = await fetch(`${base}/v1/graphs/shop/transactions/0`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
      assert.deepEqual(((await tx.json()) as { meta: unknown }).meta, { author: 'svc-orders', claimedAuthor: 'x' });
    } finally {
      await kill(secured, 'SIGTERM');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
