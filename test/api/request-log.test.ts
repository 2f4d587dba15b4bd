// Request logging (api/request-log.ts): fastify's per-request lines are written at debug level only, so
// at the default level (info) a read logs nothing; failures are still logged (500 at error).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { buildApp } from '../../src/api/app.js';
import type { StrataDb } from '../../src/core/strata-api.js';
import { openStrata } from '../../src/strata.js';
import { seedShop } from './helpers.js';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  [key: string]: unknown;
}

/** A real Strata behind buildApp, with a pino logger at `level` whose lines are collected. */
async function withLoggedApp(level: string, fn: (app: Awaited<ReturnType<typeof buildApp>>, lines: Line[], db: StrataDb) => Promise<void>, wrap?: (db: StrataDb) => StrataDb): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-log-'));
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  const db = await openStrata({ dataDir });
  const app = await buildApp({ db: wrap ? wrap(db) : db, logger: pino({ level }, sink) });
  try {
    await fn(app, lines, db);
  } finally {
    await app.close();
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const requestLines = (lines: Line[]) => lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed');

test('at the default level (info) reads, misses and bad requests write no log line', async () => {
  await withLoggedApp('info', async (app, lines) => {
    await seedShop(app, 'shop');
    const before = lines.length;
    assert.equal((await app.inject('/v1/graphs/shop/entities/cust-1')).statusCode, 200);
    assert.equal((await app.inject('/v1/graphs/shop/entities/nobody')).statusCode, 404);
    assert.equal((await app.inject('/v1/graphs/shop/entities/cust-1?at=x')).statusCode, 400);
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    assert.deepEqual(lines.slice(before), []);
    assert.deepEqual(requestLines(lines), []); // publishing logged none either
  });
});

test('at debug level every request logs its incoming and completed lines with its request id', async () => {
  await withLoggedApp('debug', async (app, lines) => {
    await seedShop(app, 'shop');
    lines.length = 0;
    assert.equal((await app.inject('/v1/graphs/shop/entities/nobody')).statusCode, 404);
    const logged = requestLines(lines);
    assert.equal(logged.length, 2, JSON.stringify(lines));
    const [incoming, completed] = logged;
    assert.equal(incoming!.level, 20);
    assert.equal(completed!.level, 20);
    assert.equal(typeof incoming!.reqId, 'string');
    assert.equal(completed!.reqId, incoming!.reqId);
    assert.equal((completed!['res'] as { statusCode: number }).statusCode, 404);
    assert.equal(typeof completed!['responseTime'], 'number');
  });
});

test('a 500 is still logged at error level at the default level, with its request id', async () => {
  // The db below throws an unexpected error on one read (a bug, as far as the API can tell).
  const faulty = (db: StrataDb): StrataDb =>
    new Proxy(db, {
      get(target, prop, receiver) {
        if (prop === 'entity') return async () => { throw new Error('disk on fire'); };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  await withLoggedApp('info', async (app, lines) => {
    await seedShop(app, 'shop');
    const res = await app.inject('/v1/graphs/shop/entities/cust-1');
    assert.equal(res.statusCode, 500);
    assert.equal(JSON.parse(res.body).error.code, 'internal_error');
    const errors = lines.filter((l) => l.level >= 50);
    assert.equal(errors.length, 1, JSON.stringify(lines));
    assert.equal(errors[0]!.msg, 'internal error');
    assert.equal(typeof errors[0]!.reqId, 'string');
    assert.match(JSON.stringify(errors[0]!['err']), /disk on fire/);
    assert.deepEqual(requestLines(lines), []);
  }, faulty);
});
