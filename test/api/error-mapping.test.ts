// The error handler end to end: a log outage is a 503 with Retry-After, a bug is a bare 500 that is
// logged but leaks nothing. Extra routes are added to a real app (buildApp does not call ready()).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogUnavailableError } from '../../src/broker-adapters/types.js';
import { StrataError } from '../../src/core/errors.js';
import { assertError, json, withApp } from './helpers.js';

test('LogUnavailableError → 503 log_unavailable with Retry-After', async () => {
  await withApp(async ({ app }) => {
    app.get('/test/log-down', async () => {
      throw new LogUnavailableError('broker unreachable', 7);
    });
    const res = await app.inject({ method: 'GET', url: '/test/log-down' });
    assertError(res, 503, 'log_unavailable');
    assert.equal(res.headers['retry-after'], '7');
  });
});

test('a StrataError keeps its code, details and Retry-After', async () => {
  await withApp(async ({ app }) => {
    app.get('/test/basis', async () => {
      throw new StrataError('basis_not_reached', 'offset 9 not materialized within 5000 ms', { offset: 9 }, 2);
    });
    const res = await app.inject({ method: 'GET', url: '/test/basis' });
    const body = assertError(res, 504, 'basis_not_reached');
    assert.deepEqual(body['error'].details, { offset: 9 });
    assert.equal(res.headers['retry-after'], '2');
  });
});

test('an unexpected error is a 500 internal_error without message or stack of the cause', async () => {
  await withApp(async ({ app }) => {
    app.get('/test/bug', async () => {
      throw new TypeError('secret internals at /srv/strata/file.ts:42');
    });
    const res = await app.inject({ method: 'GET', url: '/test/bug' });
    const body = assertError(res, 500, 'internal_error');
    assert.doesNotMatch(res.body, /secret|file\.ts|TypeError/);
    assert.deepEqual(body['error'].details, {});
  });
});

test('ids with control characters and at= together with asOf= are rejected', async () => {
  await withApp(async ({ app }) => {
    await app.inject({ method: 'PUT', url: '/v1/graphs/g' });
    assertError(await app.inject({ method: 'GET', url: '/v1/graphs/g/entities/a%00b' }), 400, 'invalid_id');
    assertError(await app.inject({ method: 'GET', url: '/v1/graphs/g/diff?from=0&id=%1F' }), 400, 'invalid_id');
    const both = await app.inject({ method: 'GET', url: '/v1/graphs/g/entities?at=0&asOf=2024-01-01T00:00:00Z' });
    assertError(both, 400, 'invalid_request');
    const bad = await app.inject({ method: 'GET', url: '/v1/graphs/g/entities/%E0%A4%A' });
    assertError(bad, 400, 'invalid_request');
    assert.equal(json(await app.inject({ method: 'GET', url: '/v1/graphs/g' }))['latestOffset'], -1);
  });
});
