// Strata over Kafka end to end, on librdkafka's mock cluster: foreign producers publish with nothing but
// schemas/transaction.avsc, undecodable records abort without stalling, every report reaches the
// `changes` topic in order, and two replicas on one topic materialize identically.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { StrataDb } from '../../src/core/strata-api.js';
import type { TxInput } from '../../src/core/types.js';
import { MockCluster, kafkaSuite, prepareLauncher } from './mock-cluster.js';
import { TempDirs, eventually, foreignCreateTx, kafkaAdapter, loadWireSchemas, openReplica, type WireSchemas } from './helpers.js';

const WAIT = { wait: true, timeoutMs: 10_000 } as const;
let prefixes = 0;
const uniquePrefix = (tag: string): string => `${tag}${process.pid}-${prefixes++}`;

function createTx(id: string, attrs: Record<string, string | number>, txId: string | null = null): TxInput {
  const sets = Object.entries(attrs).map(([attr, v]) => ({
    op: 'set' as const, id, attr, value: typeof v === 'number' ? { t: 'l' as const, v: String(v) } : { t: 's' as const, v },
  }));
  return { id: txId, meta: {}, ops: [{ op: 'create', id, type: 'Order' }, ...sets] };
}

/** mulberry32: a seeded PRNG, so a failing workload can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const launcher = await prepareLauncher();
kafkaSuite('strata on kafka', launcher, (launcherPath) => {
  let cluster: MockCluster;
  let schemas: WireSchemas;
  let kafka: Kafka;
  let producer: Producer;
  const temp = new TempDirs();
  const dbs: StrataDb[] = [];

  before(async () => {
    cluster = await MockCluster.start(launcherPath, 1);
    schemas = await loadWireSchemas();
    kafka = new Kafka({ brokers: cluster.bootstrap, clientId: 'foreign', logLevel: logLevel.NOTHING });
    producer = kafka.producer({ createPartitioner: () => () => 0 });
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    for (const db of dbs) await db.close();
    await cluster?.stop();
    await temp.removeAll();
  });
  const replica = async (prefix: string, changes?: boolean): Promise<StrataDb> => {
    const db = await openReplica(await temp.make('replica'), cluster.bootstrap, prefix, { changes });
    dbs.push(db);
    return db;
  };
  /** Produces like any Kafka client would: key = tx id, Avro value, strata-schema header. */
  const produceForeign = async (topic: string, key: string | null, value: Buffer | null): Promise<number> => {
    const [meta] = await producer.send({ topic, acks: -1, messages: [{ key, value, headers: { 'strata-schema': schemas.txFingerprint } }] });
    return Number(meta!.baseOffset);
  };

  describe('foreign producers', () => {
    it('a transaction produced with only schemas/transaction.avsc is materialized like any other', async () => {
      const prefix = uniquePrefix('f');
      const topic = `${prefix}.orders.tx`;
      await cluster.createTopic(topic, 1); // as an operator would: the mock refuses createTopics
      const first = await produceForeign(topic, 'foreign-1', schemas.tx.toBuffer(foreignCreateTx('foreign-1', 'order-1', 'Order', { status: 'open', qty: 3 })));
      const db = await replica(prefix);
      const basis = await db.resolveBasis('orders', { minBasis: first });
      const entity = await db.entity('orders', 'order-1', basis);
      assert.deepEqual({ type: entity?.type, attrs: { ...entity?.attrs } }, { type: 'Order', attrs: { status: 'open', qty: 3 } });

      // Strata's own writes and foreign ones share the log, in one order, with the same wire contract.
      const own = await db.transact('orders', createTx('order-2', { status: 'new' }), WAIT);
      assert.equal(own.status, 'committed');
      const second = await produceForeign(topic, null, schemas.tx.toBuffer(foreignCreateTx(null, 'order-3', 'Order', { status: 'late' })));
      assert.ok(second > own.offset);
      const latest = await db.resolveBasis('orders', { minBasis: second });
      assert.equal((await db.entity('orders', 'order-3', latest))?.attrs.status, 'late');
      const reader = kafkaAdapter(cluster.bootstrap, prefix);
      await reader.open();
      const [written] = await reader.read('orders', own.offset, 1);
      await reader.close();
      assert.equal(written?.headers['strata-schema'], schemas.txFingerprint, 'Strata writes the fingerprint a foreign client computes');
      assert.equal(written?.key, null);
    });

    it('an undecodable record becomes an invalid_record abort at its offset and the fold goes on', async () => {
      const prefix = uniquePrefix('g');
      const topic = `${prefix}.orders.tx`;
      await cluster.createTopic(topic, 1);
      const db = await replica(prefix);
      const garbage = await produceForeign(topic, 'junk', Buffer.from('definitely not avro'));
      const tombstone = await produceForeign(topic, 'tombstone', null);
      const good = await produceForeign(topic, 'ok', schemas.tx.toBuffer(foreignCreateTx('ok', 'order-9', 'Order', { status: 'fine' })));
      await db.resolveBasis('orders', { minBasis: good });
      for (const offset of [garbage, tombstone]) {
        const report = await db.tx('orders', offset);
        assert.equal(report?.status, 'aborted');
        assert.equal(report?.error?.code, 'invalid_record');
      }
      assert.equal((await db.tx('orders', good))?.status, 'committed');
      assert.equal((await db.entity('orders', 'order-9', good))?.attrs.status, 'fine');
    });
  });

  describe('derived changes topic', () => {
    it('every tx report reaches <prefix>.<graph>.changes in order, across a restart, for a plain consumer', async () => {
      const prefix = uniquePrefix('d');
      const dataDir = await temp.make('changes');
      const results: number[] = [];
      let db = await openReplica(dataDir, cluster.bootstrap, prefix);
      for (let i = 0; i < 6; i++) results.push((await db.transact('shop', createTx(`item-${i % 4}`, { n: i }), WAIT)).offset); // i ≥ 4 aborts
      await db.close();
      db = await openReplica(dataDir, cluster.bootstrap, prefix);
      dbs.push(db);
      for (let i = 6; i < 9; i++) results.push((await db.transact('shop', createTx(`item-${i}`, { n: i }), WAIT)).offset);

      const seen = await consumeChanges(kafka, `${prefix}.shop.changes`, schemas, results.length);
      assert.deepEqual(seen.map((s) => s.key), results.map(String), 'one message per report, in offset order, none repeated');
      for (const s of seen) {
        assert.equal(s.schema, schemas.reportFingerprint);
        const report = s.report as { offset: number; status: string; error: { 'strata.v1.TxError': { code: string } } | null };
        assert.equal(report.offset, Number(s.key));
        const stored = await db.tx('shop', report.offset);
        assert.equal(report.status, stored?.status);
        assert.equal(report.error?.['strata.v1.TxError'].code ?? null, stored?.error?.code ?? null);
      }
      assert.deepEqual(seen.map((s) => (s.report as { status: string }).status).filter((x) => x === 'aborted').length, 2);
    });
  });

  describe('two replicas', () => {
    it('materialize one topic identically: read-your-writes with minBasis, equal reads at random offsets', async () => {
      const prefix = uniquePrefix('r');
      const a = await replica(prefix, false);
      const b = await replica(prefix, false);
      await a.createGraph('shared');
      await b.createGraph('shared');
      const random = prng(20240611);
      const ids: string[] = [];
      const offsets: number[] = [];
      for (let i = 0; i < 40; i++) {
        const [writer, reader] = i % 4 === 3 ? [b, a] : [a, b];
        const tx = randomTx(random, ids, i);
        const result = await writer.transact('shared', tx, WAIT);
        offsets.push(result.offset);
        const basis = await reader.resolveBasis('shared', { minBasis: result.offset });
        assert.ok(basis >= result.offset);
        for (const op of tx.ops) {
          if ('id' in op) assert.deepEqual(await reader.entity('shared', op.id, result.offset), await writer.entity('shared', op.id, result.offset));
        }
      }
      const last = offsets[offsets.length - 1]!;
      await a.resolveBasis('shared', { minBasis: last });
      await b.resolveBasis('shared', { minBasis: last });
      for (let k = 0; k < 12; k++) {
        const at = offsets[Math.floor(random() * offsets.length)]!;
        for (const id of ids) assert.deepEqual(await b.entity('shared', id, at), await a.entity('shared', id, at), `entity ${id} at ${at}`);
        assert.deepEqual(await b.diff('shared', 0, at, {}), await a.diff('shared', 0, at, {}));
      }
      assert.deepEqual(await b.txLog('shared', 0, 100, last), await a.txLog('shared', 0, 100, last), 'identical tx index, times included');
    });
  });
});

/** A random tx over a small id space: creates, sets, links and terminations, some of which abort. */
function randomTx(random: () => number, ids: string[], i: number): TxInput {
  const pick = (): string => ids[Math.floor(random() * ids.length)] ?? 'none';
  const roll = random();
  if (ids.length < 3 || roll < 0.3) {
    const id = `n${i}`;
    ids.push(id);
    return { id: `tx-${i}`, meta: {}, ops: [{ op: 'create', id, type: 'Node' }, { op: 'set', id, attr: 'w', value: { t: 'l', v: String(i) } }] };
  }
  if (roll < 0.6) return { id: null, meta: {}, ops: [{ op: 'set', id: pick(), attr: 'label', value: { t: 's', v: `v${i}` } }] };
  if (roll < 0.8) {
    const id = `e${i}`;
    ids.push(id);
    return { id: null, meta: {}, ops: [{ op: 'link', id, type: 'Edge', from: pick(), to: pick() }] };
  }
  return { id: null, meta: {}, ops: [{ op: 'terminate', id: pick() }] };
}

interface SeenChange {
  key: string;
  schema: string;
  report: unknown;
}

/** A plain kafkajs consumer group reading the changes topic from the beginning, decoding with avsc. */
async function consumeChanges(kafka: Kafka, topic: string, schemas: WireSchemas, count: number): Promise<SeenChange[]> {
  const consumer = kafka.consumer({ groupId: `changes-reader-${topic}`, maxWaitTimeInMs: 100 });
  const seen: SeenChange[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ key: message.key!.toString(), schema: String(message.headers?.['strata-schema']), report: schemas.report.fromBuffer(message.value!) });
      },
    });
    await eventually(() => seen.length >= count, `${count} messages on ${topic}`, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // anything extra (a duplicate) would show up now
  } finally {
    await consumer.disconnect();
  }
  return seen;
}
