// Broker outage on the mock cluster: with every broker down, publishing fails fast with
// LogUnavailableError (the API's 503 + Retry-After) and never hangs, reads keep serving the materialized
// state; once the brokers are back, publishing and the materializer resume with nothing lost or doubled.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { LogUnavailableError } from '../../src/broker-adapters/types.js';
import type { PublishResult, StrataDb } from '../../src/core/strata-api.js';
import type { TxInput } from '../../src/core/types.js';
import { MockCluster, kafkaSuite, prepareLauncher } from './mock-cluster.js';
import { TempDirs, eventually, openReplica } from './helpers.js';

const APPEND_TIMEOUT_MS = 2_000;
const WAIT = { wait: true, timeoutMs: 10_000 } as const;

function orderTx(k: number): TxInput {
  return { id: `tx-${k}`, meta: {}, ops: [{ op: 'create', id: `order-${k}`, type: 'Order' }, { op: 'set', id: `order-${k}`, attr: 'n', value: { t: 'l', v: String(k) } }] };
}

/** Publishing again with the same tx id is the client's answer to a 503: it never applies a tx twice. */
async function publishUntilAccepted(db: StrataDb, tx: TxInput): Promise<PublishResult> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await db.transact('orders', tx, WAIT);
    } catch (err) {
      if (!(err instanceof LogUnavailableError) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const launcher = await prepareLauncher();
kafkaSuite('strata on kafka: broker outage', launcher, (launcherPath) => {
  let cluster: MockCluster;
  let db: StrataDb;
  const temp = new TempDirs();

  before(async () => {
    cluster = await MockCluster.start(launcherPath, 3);
    const prefix = `o${process.pid}`;
    await cluster.createTopic(`${prefix}.orders.tx`, 1);
    db = await openReplica(await temp.make('outage'), cluster.bootstrap, prefix, { adapter: { appendTimeoutMs: APPEND_TIMEOUT_MS } });
  });
  after(async () => {
    await cluster?.up().catch(() => undefined);
    await db?.close();
    await cluster?.stop();
    await temp.removeAll();
  });

  it('publishes fail fast and reads keep serving while the brokers are down; then everything resumes exactly once', { timeout: 60_000 }, async () => {
    for (let k = 0; k < 5; k++) assert.equal((await db.transact('orders', orderTx(k), WAIT)).status, 'committed');
    const basisBefore = await db.resolveBasis('orders', {});

    await cluster.down();
    const started = Date.now();
    const attempts = await Promise.allSettled([5, 6, 7].map((k) => db.transact('orders', orderTx(k), WAIT)));
    const elapsedMs = Date.now() - started;
    for (const attempt of attempts) {
      assert.equal(attempt.status, 'rejected');
      assert.ok(attempt.status === 'rejected' && attempt.reason instanceof LogUnavailableError, `rejected with LogUnavailableError: ${String((attempt as PromiseRejectedResult).reason)}`);
      assert.ok((attempt.reason as LogUnavailableError).retryAfterSeconds > 0, 'carries a Retry-After');
    }
    assert.ok(elapsedMs < APPEND_TIMEOUT_MS + 1_500, `publishing gave up within its bound (${elapsedMs} ms)`);

    // Reads are served from RocksDB with their basis, the broker being away or not.
    assert.equal(await db.resolveBasis('orders', {}), basisBefore);
    assert.equal((await db.entity('orders', 'order-4', basisBefore))?.attrs.n, 4);
    assert.equal((await db.entity('orders', 'order-2', await db.resolveBasis('orders', { at: basisBefore - 2 })))?.attrs.n, 2);
    assert.equal((await db.graphInfo('orders')).materializedOffset, basisBefore);

    await cluster.up();
    for (const k of [5, 6, 7]) assert.equal((await publishUntilAccepted(db, orderTx(k))).status, 'committed');
    for (let k = 8; k < 10; k++) assert.equal((await db.transact('orders', orderTx(k), WAIT)).status, 'committed');

    const end = await db.resolveBasis('orders', {});
    const { items } = await db.txLog('orders', 0, 1_000, end);
    const committed = items.filter((r) => r.status === 'committed').map((r) => r.id);
    assert.deepEqual([...committed].sort(), Array.from({ length: 10 }, (_, k) => `tx-${k}`).sort(), 'every tx committed exactly once');
    // A send abandoned at the deadline may still have landed: its retry is then a duplicate_tx, never a second apply.
    assert.ok(items.every((r) => r.status === 'committed' || r.error?.code === 'duplicate_tx'));
    for (let k = 0; k < 10; k++) assert.equal((await db.entity('orders', `order-${k}`, end))?.attrs.n, k);
    await eventually(async () => (await db.graphInfo('orders')).latestOffset === end, 'the log end as seen by the adapter');
  });
});
