// Test harness for the HTTP API: a real Strata (openStrata on a temp dir) behind buildApp, driven by inject().

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { openStrata } from '../../src/strata.js';
import { buildApp } from '../../src/api/app.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/core/limits.js';
import type { StrataDb } from '../../src/core/strata-api.js';
import { createMetrics, materializerHooks } from '../../src/api/metrics.js';

export interface Harness {
  app: FastifyInstance;
  db: StrataDb;
  limits: Limits;
}

export async function withApp(fn: (h: Harness) => Promise<void>, overrides: Partial<Limits> = {}): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-api-'));
  const limits: Limits = { ...DEFAULT_LIMITS, ...overrides };
  // One metrics object shared by the library and the API, as the CLI wires them.
  const metrics = createMetrics();
  const db = await openStrata({ dataDir, limits, hooks: materializerHooks(metrics) });
  const app = await buildApp({ db, limits, metrics });
  try {
    await fn({ app, db, limits });
  } finally {
    await app.close();
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export type Json = Record<string, any>;

export function json(res: LightMyRequestResponse): Json {
  return JSON.parse(res.body) as Json;
}

/** Publishes one tx (wait=true) and asserts the status; returns the reply body. */
export async function publish(app: FastifyInstance, graph: string, tx: unknown, status = 200): Promise<Json> {
  const res = await app.inject({ method: 'POST', url: `/v1/graphs/${graph}/transactions`, payload: tx as object });
  assert.equal(res.statusCode, status, res.body);
  return json(res);
}

export async function get(app: FastifyInstance, url: string, status = 200): Promise<Json> {
  const res = await app.inject({ method: 'GET', url });
  assert.equal(res.statusCode, status, `${url}: ${res.body}`);
  return json(res);
}

/** Asserts the one error shape with the given status and code. */
export function assertError(res: LightMyRequestResponse, status: number, code: string): Json {
  assert.equal(res.statusCode, status, res.body);
  const body = json(res);
  assert.equal(body['error']?.code, code, res.body);
  assert.equal(typeof body['error']?.message, 'string');
  assert.equal(typeof body['error']?.details, 'object');
  assert.match(String(res.headers['content-type']), /application\/json/);
  return body;
}

/** A small graph: two customers, an order placed by one, a tag set; returns the last offset. */
export async function seedShop(app: FastifyInstance, graph: string): Promise<number> {
  await publish(app, graph, {
    ops: [
      { op: 'defineAttr', attr: 'tags', valueType: 'string', cardinality: 'many', unique: false },
      { op: 'defineAttr', attr: 'total', valueType: 'long', cardinality: 'one', unique: false },
    ],
  });
  await publish(app, graph, {
    ops: [
      { op: 'create', id: 'cust-1', type: 'Customer' },
      { op: 'set', id: 'cust-1', attr: 'name', value: 'Ada' },
      { op: 'create', id: 'cust-2', type: 'Customer' },
      { op: 'set', id: 'cust-2', attr: 'name', value: 'Bob' },
    ],
  });
  const last = await publish(app, graph, {
    id: 'order-42-placed',
    meta: { author: 'svc-orders' },
    ops: [
      { op: 'create', id: 'order/42', type: 'Order' },
      { op: 'set', id: 'order/42', attr: 'status', value: 'open' },
      { op: 'set', id: 'order/42', attr: 'total', value: 1200 },
      { op: 'add', id: 'order/42', attr: 'tags', value: 'rush' },
      { op: 'link', id: 'placed-42', type: 'placedBy', from: 'order/42', to: 'cust-1' },
    ],
  });
  return last['offset'] as number;
}
