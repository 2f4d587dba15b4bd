// View changelog topics on librdkafka's mock cluster: each view's deltas reach `<prefix>.<graph>.view.<name>`
// as JSON messages keyed by row key, removals before additions, so a plain consumer folding them into a
// keyed table ends with the view's rows — across a producer restart — and an `api` replica produces nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { StrataDb } from '../../src/core/strata-api.js';
import type { Op } from '../../src/core/types.js';
import { MockCluster, kafkaSuite, prepareLauncher } from './mock-cluster.js';
import { TempDirs, eventually, openReplica } from './helpers.js';

const WAIT = { wait: true, timeoutMs: 10_000 } as const;
const PER_CUSTOMER = { find: ['?c', { count: '?o' }], where: [{ edge: 'placedBy', from: '?o', to: '?c' }, { id: '?o', attr: 'status', value: 'open' }] };

interface Message {
  key: string;
  value: { view: string; offset: number; op: 'added' | 'removed'; row: unknown[] };
}

const order = (id: string, customer: string): Op[] => [
  { op: 'create', id, type: 'Order' },
  { op: 'set', id, attr: 'status', value: { t: 's', v: 'open' } },
  { op: 'link', id: `p-${id}`, type: 'placedBy', from: id, to: customer },
];

/** A plain consumer group reading every partition of the changelog from the beginning. */
async function consume(kafka: Kafka, topic: string, count: number): Promise<Message[]> {
  const consumer = kafka.consumer({ groupId: `view-reader-${topic}`, maxWaitTimeInMs: 100 });
  const seen: Message[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ key: message.key!.toString(), value: JSON.parse(message.value!.toString()) as Message['value'] });
      },
    });
    await eventually(() => seen.length >= count, `${count} messages on ${topic}`, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a duplicate would show up now
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

const launcher = await prepareLauncher();
kafkaSuite('view changelog topics on kafka', launcher, (launcherPath) => {
  let cluster: MockCluster;
  let kafka: Kafka;
  const temp = new TempDirs();
  const dbs: StrataDb[] = [];

  before(async () => {
    cluster = await MockCluster.start(launcherPath, 1);
    kafka = new Kafka({ brokers: cluster.bootstrap, clientId: 'view-reader', logLevel: logLevel.NOTHING });
  });
  after(async () => {
    for (const db of dbs) await db.close();
    await cluster?.stop();
    await temp.removeAll();
  });

  describe('<prefix>.<graph>.view.<name>', () => {
    it('a consumer keeping a table by message key ends with the view rows, across a restart of the producer', async () => {
      const prefix = `v${process.pid}`;
      const dataDir = await temp.make('views');
      let db = await openReplica(dataDir, cluster.bootstrap, prefix);
      await db.transact('shop', { id: null, meta: {}, ops: [{ op: 'create', id: 'ada', type: 'C' }, { op: 'create', id: 'bob', type: 'C' }, ...order('o1', 'ada')] }, WAIT);
      await db.defineView('shop', 'per-customer', PER_CUSTOMER, WAIT);
      await db.transact('shop', { id: null, meta: {}, ops: order('o2', 'ada') }, WAIT);
      await db.close();
      db = await openReplica(dataDir, cluster.bootstrap, prefix);
      dbs.push(db);
      await db.transact('shop', { id: null, meta: {}, ops: order('o3', 'bob') }, WAIT);
      const last = (await db.transact('shop', { id: null, meta: {}, ops: [{ op: 'set', id: 'o1', attr: 'status', value: { t: 's', v: 'closed' } }] }, WAIT)).offset;
      // An api replica folds the same log but produces no derived topic.
      dbs.push(await openReplica(await temp.make('api'), cluster.bootstrap, prefix, { changes: false }));

      // Deltas: +[ada,1] · -[ada,1]+[ada,2] · +[bob,1] · -[ada,2]+[ada,1]: 6 messages, each exactly once.
      const seen = await consume(kafka, `${prefix}.shop.view.per-customer`, 6);
      assert.equal(seen.length, 6);
      const table = new Map<string, unknown[]>();
      for (const m of seen.sort((a, b) => a.value.offset - b.value.offset || (a.value.op === 'removed' ? -1 : 1))) {
        assert.equal(m.key, JSON.stringify([m.value.row[0]]), 'keyed by the row key (the grouping column)');
        if (m.value.op === 'removed') table.delete(m.key);
        else table.set(m.key, m.value.row);
      }
      const page = await db.viewRows('shop', 'per-customer', { at: last }, { limit: 100 });
      assert.deepEqual([...table.values()].sort(), page.rows.sort());
    });
  });
});
