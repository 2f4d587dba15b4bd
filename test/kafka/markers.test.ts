// Transaction markers on the log: Kafka ends every transaction of a transactional producer with a control
// record that takes an offset but is never delivered. A replica must still become ready, and reads at
// the marker's offset (the log's latest offset) must answer at once, not time out waiting for a record.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { StrataDb } from '../../src/core/strata-api.js';
import { appendControlRecord } from './control-record.js';
import { TempDirs, eventually, foreignCreateTx, loadWireSchemas, openReplica, type WireSchemas } from './helpers.js';
import { MockCluster, kafkaSuite, prepareLauncher } from './mock-cluster.js';

const launcher = await prepareLauncher();
kafkaSuite('transaction markers', launcher, (launcherPath) => {
  let cluster: MockCluster;
  let schemas: WireSchemas;
  let producer: Producer;
  const temp = new TempDirs();
  const dbs: StrataDb[] = [];

  before(async () => {
    cluster = await MockCluster.start(launcherPath, 1);
    schemas = await loadWireSchemas();
    producer = new Kafka({ brokers: cluster.bootstrap, clientId: 'foreign', logLevel: logLevel.NOTHING }).producer({ createPartitioner: () => () => 0 });
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    for (const db of dbs) await db.close();
    await cluster?.stop();
    await temp.removeAll();
  });

  const produceTx = async (topic: string, entity: string): Promise<number> => {
    const value = schemas.tx.toBuffer(foreignCreateTx(null, entity, 'Order', { status: 'open' }));
    const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: null, value, headers: { 'strata-schema': schemas.txFingerprint } }] });
    return Number(meta!.baseOffset);
  };

  it('a log that ends with a marker: the replica becomes ready and reads at the latest offset answer at once', async () => {
    const topic = `m${process.pid}.orders.tx`;
    await cluster.createTopic(topic, 1);
    assert.equal(await produceTx(topic, 'o1'), 0);
    assert.equal(await appendControlRecord(cluster.bootstrap[0]!, topic, 'commit'), 1);

    const db = await openReplica(await temp.make('markers'), cluster.bootstrap, `m${process.pid}`, { changes: false });
    dbs.push(db);
    // Before the tail reported its progress, durable offset 0 never reached the ready target 1.
    await eventually(() => db.isReady(), 'readiness with a marker at the end of the log', 5_000);
    const info = await db.graphInfo('orders');
    assert.deepEqual([info.latestOffset, info.materializedOffset], [1, 1], 'the marker is the latest offset, and materialized: no lag');
    assert.equal(info.counts.transactions, 1);

    const started = Date.now();
    const basis = await db.resolveBasis('orders', { at: 1 });
    assert.equal(basis, 1);
    assert.ok(Date.now() - started < 2_000, 'at= a marker offset does not wait for a record that never comes');
    assert.equal((await db.entity('orders', 'o1', basis))?.attrs.status, 'open');
    assert.equal(await db.resolveBasis('orders', { minBasis: 1 }), 0, 'minBasis past a marker is met; the basis is the last tx');

    // Markers in the middle are offset gaps: the fold goes on past them, and later markers are passed too.
    assert.equal(await produceTx(topic, 'o2'), 2);
    assert.equal(await appendControlRecord(cluster.bootstrap[0]!, topic, 'abort'), 3);
    await db.resolveBasis('orders', { minBasis: 3 });
    assert.equal((await db.entity('orders', 'o2', 3))?.type, 'Order');
    assert.equal(await db.entity('orders', 'o2', 1), null);
    assert.deepEqual((await db.txLog('orders', 0, 10, 3)).items.map((r) => r.offset), [0, 2]);
  });
});
