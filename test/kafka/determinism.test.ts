// Determinism over Kafka (DESIGN §2, §8; issue 5): two independent replicas — own data dirs, one folding
// live while it publishes, the other catching up, restarted halfway — fold one topic that also carries
// garbage produced straight onto it by a plain kafkajs producer (as a foreign service would): raw bytes,
// truncated Avro, a valid body under a foreign schema fingerprint, a tombstone, ... Every garbage record
// is an `invalid_record` abort at its own offset on both replicas, and at EVERY offset both replicas give
// the same slice checksum, the same tx report, and the checksum of the naive reference fold. Then
// `strata rebuild --broker kafka` (the CLI, a child process) rebuilds one replica's deleted state from the
// topic: its checksums over HTTP equal the other replica's at every offset, and its RocksDB bytes too.
// Replay with STRATA_KAFKA_DET_SEED=<seed>; more txs with STRATA_KAFKA_DET_TXS=<n>.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { parseTxJson, reportToJson } from '../../src/codec/json.js';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import type { PublishResult, StrataDb } from '../../src/core/strata-api.js';
import type { TxReport } from '../../src/core/types.js';
import { storeDiff, storeDigest, modelChecksum } from '../helpers/checksum.js';
import { freePort, kill, runCli, startServer, waitReady } from '../helpers/child.js';
import { fetchHttp } from '../helpers/http.js';
import { Rng, TxGenerator } from '../reference/generator.js';
import { ReferenceModel, type TxBody } from '../reference/model.js';
import { TempDirs, eventually, foreignCreateTx, loadWireSchemas, openReplica, type WireSchemas } from './helpers.js';
import { MockCluster, kafkaSuite, prepareLauncher } from './mock-cluster.js';

const SEED = Number(process.env['STRATA_KAFKA_DET_SEED'] ?? (process.env['STRATA_SEEDS'] ?? '5150').split(',')[0]);
const TXS = Number(process.env['STRATA_KAFKA_DET_TXS'] ?? 260);
const GRAPH = 'det';
const WAIT = { wait: true, timeoutMs: 10_000 } as const;
/** Garbage records spread over the workload (one more ends the log). */
const GARBAGE_RECORDS = 12;

/** What a foreign producer may put on the tx topic that is not a Transaction this build can read. */
const GARBAGE_KINDS = ['json', 'random', 'truncated', 'fingerprint', 'report', 'tombstone', 'no-ops', 'trailing'] as const;
type GarbageKind = (typeof GARBAGE_KINDS)[number];

interface Garbage {
  kind: GarbageKind;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * A garbage record of `kind`. The bodies that carry a real Transaction would create `garbage-<n>` if they
 * were ever decoded, so a replica that accepted one would differ from the reference fold's checksum.
 */
function garbage(kind: GarbageKind, n: number, rng: Rng, schemas: WireSchemas): Garbage {
  const header = { 'strata-schema': schemas.txFingerprint };
  const validTx = (): Buffer => schemas.tx.toBuffer(foreignCreateTx(`garbage-tx-${n}`, `garbage-${n}`, 'Order', { status: 'open' }));
  switch (kind) {
    case 'json': // a service that forgot to encode
      return { kind, key: `garbage-tx-${n}`, value: Buffer.from(JSON.stringify({ ops: [{ op: 'create', id: `garbage-${n}`, type: 'Order' }] })), headers: header };
    case 'random':
      return { kind, key: null, value: Buffer.from(Array.from({ length: 1 + rng.int(64) }, () => rng.int(256))), headers: header };
    case 'truncated': {
      const whole = validTx();
      return { kind, key: `garbage-tx-${n}`, value: whole.subarray(0, 1 + rng.int(whole.length - 1)), headers: header };
    }
    case 'fingerprint': // a well-formed body written under another schema (version) than this build reads
      return { kind, key: `garbage-tx-${n}`, value: validTx(), headers: { 'strata-schema': createHash('sha256').update(`strata.v2.Transaction ${n}`).digest('hex') } };
    case 'report': // a record of the changes topic produced onto the tx topic by mistake
      return {
        kind, key: String(n), headers: { 'strata-schema': schemas.reportFingerprint },
        value: schemas.report.toBuffer({
          offset: 5 + n, timeMs: 1_700_000_000_000, status: 'committed', id: null, meta: {},
          ops: [{ op: { 'strata.v1.Create': { id: `garbage-${n}`, type: 'Order' } } }], error: null, originalOffset: null, changes: [],
        }),
      };
    case 'tombstone':
      return { kind, key: `garbage-tx-${n}`, value: null, headers: header };
    case 'no-ops': // valid Avro, but breaks a static rule (at least one op)
      return { kind, key: null, value: schemas.tx.toBuffer({ id: null, meta: { author: 'foreign' }, ops: [] }), headers: header };
    case 'trailing':
      return { kind, key: `garbage-tx-${n}`, value: Buffer.concat([validTx(), Buffer.from([0])]), headers: header };
  }
}

/** What the reference fold records at a garbage offset: an abort that changes nothing. */
const PLACEHOLDER: TxBody = { ops: [{ op: 'expect', id: 'never-created', attr: 'x', value: 'never' }] };

interface EveryOffset {
  checksums: string[];
  reports: string[];
}

/** Checksum and tx report (JSON text) at every offset from -1 through `last` (a few offsets at a time). */
async function everyOffset(db: StrataDb, last: number): Promise<EveryOffset> {
  const checksums: string[] = [];
  const reports: string[] = [];
  const CONCURRENT = 2; // overlaps one offset's RocksDB reads with the other's hashing
  for (let from = -1; from <= last; from += CONCURRENT) {
    const ats = Array.from({ length: Math.min(CONCURRENT, last + 1 - from) }, (_, i) => from + i);
    const answers = await Promise.all(ats.map(async (at) => [(await db.checksum(GRAPH, at)).checksum, at < 0 ? null : (await db.tx(GRAPH, at))!] as const));
    for (const [checksum, report] of answers) {
      checksums.push(checksum);
      if (report !== null) reports.push(JSON.stringify(reportToJson(report)));
    }
  }
  return { checksums, reports };
}

function firstDifference(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function waitMaterialized(db: StrataDb, offset: number): Promise<void> {
  await eventually(async () => (await db.graphInfo(GRAPH)).materializedOffset >= offset, `offset ${offset} materialized`, 30_000);
}

const launcher = await prepareLauncher();
kafkaSuite('kafka determinism', launcher, (launcherPath) => {
  let cluster: MockCluster;
  let schemas: WireSchemas;
  let producer: Producer;
  const temp = new TempDirs();
  const open = new Set<StrataDb>();
  const prefix = `det${process.pid}`;
  let dirA = '';
  let dirB = '';
  let a: StrataDb | undefined;
  let last = -1;
  let fromA: EveryOffset | undefined;

  before(async () => {
    cluster = await MockCluster.start(launcherPath, 1);
    await cluster.createTopic(`${prefix}.${GRAPH}.tx`, 1); // as an operator would: the mock refuses createTopics
    schemas = await loadWireSchemas();
    producer = new Kafka({ brokers: cluster.bootstrap, clientId: 'foreign-service', logLevel: logLevel.NOTHING }).producer({ createPartitioner: () => () => 0 });
    await producer.connect();
    dirA = await temp.make('det-a');
    dirB = await temp.make('det-b');
  });
  after(async () => {
    await producer?.disconnect();
    for (const db of open) await db.close();
    await cluster?.stop();
    await temp.removeAll();
  });
  const replica = async (dir: string): Promise<StrataDb> => {
    const db = await openReplica(dir, cluster.bootstrap, prefix, { changes: false });
    open.add(db);
    return db;
  };
  const closeReplica = async (db: StrataDb): Promise<void> => {
    open.delete(db);
    await db.close();
  };

  it(`two replicas fold one topic with garbage on it identically at every offset (seed ${SEED}, ${TXS} txs)`, { timeout: 120_000 }, async () => {
    const rng = new Rng(SEED ^ 0x6b61);
    const gen = new TxGenerator(SEED);
    const model = new ReferenceModel();
    const garbageAt = new Map<number, GarbageKind>();
    const dbA = await replica(dirA);
    a = dbA;
    let b: StrataDb | undefined;
    let published = 0;
    let restartedB = false;
    /** Produces `count` garbage records in one send, as a foreign service would, and notes their offsets. */
    const produceGarbage = async (count: number): Promise<void> => {
      const batch = Array.from({ length: count }, (_, i) => garbage(GARBAGE_KINDS[(garbageAt.size + i) % GARBAGE_KINDS.length]!, garbageAt.size + i, rng, schemas));
      const [meta] = await producer.send({ topic: `${prefix}.${GRAPH}.tx`, acks: -1, messages: batch.map((g) => ({ key: g.key, value: g.value, headers: g.headers })) });
      assert.equal(Number(meta!.baseOffset), model.nextOffset, 'the foreign records land right after the last tx');
      for (const g of batch) {
        garbageAt.set(model.nextOffset, g.kind);
        assert.equal(model.publish(PLACEHOLDER).outcome.status, 'aborted');
      }
    };
    while (published < TXS) {
      // B comes up a third of the way in (catch-up, then live) and restarts two thirds in (resumes).
      if (b === undefined && published >= TXS / 3) b = await replica(dirB);
      if (b !== undefined && !restartedB && published >= (2 * TXS) / 3) {
        await closeReplica(b);
        b = await replica(dirB);
        restartedB = true;
      }
      // Garbage spread evenly over the log, one or two records per send (consecutive garbage offsets).
      if (published > 0 && garbageAt.size * TXS < GARBAGE_RECORDS * published) await produceGarbage(1 + rng.int(2));
      const bodies = Array.from({ length: Math.min(1 + rng.int(20), TXS - published) }, () => gen.next().body);
      const results: PublishResult[] = await dbA.transactBatch(GRAPH, bodies.map((body) => parseTxJson(body, DEFAULT_LIMITS)), WAIT);
      for (const [i, body] of bodies.entries()) {
        const result: PublishResult = results[i]!;
        const rec = model.publish(body);
        if (rec.outcome.status === 'aborted' && rec.outcome.code === 'duplicate_tx') {
          // A repeated key is answered with the original outcome; the record itself aborts at its own offset.
          assert.deepEqual([result.status, 'duplicate' in result && result.duplicate, result.offset], ['committed', true, rec.outcome.originalOffset], `duplicate at ${rec.offset}`);
          continue;
        }
        assert.equal(result.offset, rec.offset, 'one writer: the log order is the publishing order');
        const want = rec.outcome.status === 'committed' ? 'committed' : rec.outcome.code;
        const got = result.status === 'committed' ? 'committed' : result.status === 'aborted' ? result.error.code : result.status;
        assert.equal(got, want, `outcome at offset ${result.offset}`);
      }
      published += bodies.length;
    }
    await produceGarbage(1); // the log ends with garbage: the replicas must still reach its last offset
    last = model.latestOffset;
    assert.ok(b !== undefined && restartedB);
    const dbB: StrataDb = b;
    await waitMaterialized(dbA, last);
    await waitMaterialized(dbB, last);

    for (const [offset, kind] of garbageAt) {
      for (const [name, db] of [['A', dbA], ['B', dbB]] as const) {
        const report: TxReport | null = await db.tx(GRAPH, offset);
        assert.equal(report?.status, 'aborted', `${name}: ${kind} garbage at ${offset}`);
        assert.equal(report?.error?.code, 'invalid_record', `${name}: ${kind} garbage at ${offset}: ${report?.error?.message}`);
        assert.deepEqual(report?.changes, []);
      }
    }
    const [answersA, fromB] = await Promise.all([everyOffset(dbA, last), everyOffset(dbB, last)]);
    fromA = answersA;
    assert.equal(fromA.checksums.length, last + 2);
    assert.equal(firstDifference(fromA.checksums, fromB.checksums), -1, 'checksums of A and B differ (index = offset + 1)');
    assert.equal(firstDifference(fromA.reports, fromB.reports), -1, 'tx reports of A and B differ (index = offset)');
    const expected = Array.from({ length: last + 2 }, (_, i) => modelChecksum(model, i - 1));
    assert.equal(firstDifference(fromA.checksums, expected), -1, 'checksums differ from the reference fold (index = offset + 1)');
    assert.ok(new Set(fromA.checksums).size > TXS / 2, 'checksums change along the log');
    const aborted = model.txs.filter((t) => t.outcome.status === 'aborted').length - garbageAt.size;
    assert.ok(aborted >= TXS / 20, `the workload aborts some txs (${aborted})`);
    assert.ok(garbageAt.size > GARBAGE_RECORDS);
    assert.deepEqual(new Set(garbageAt.values()), new Set(GARBAGE_KINDS), 'every kind of garbage was produced');
    await closeReplica(dbB);
    console.log(`kafka determinism seed ${SEED}: ${last + 1} offsets (${TXS} txs, ${aborted} aborted by the fold, ${garbageAt.size} garbage records), ${new Set(fromA.checksums).size} distinct checksums`);
  });

  it('strata rebuild --broker kafka: a replica whose state was deleted is rebuilt from the topic, equal at every offset', { timeout: 120_000 }, async () => {
    assert.ok(a !== undefined && fromA !== undefined && last >= 0, 'needs the replicas of the previous test');
    await rm(join(dirB, 'state'), { recursive: true, force: true });
    const kafkaArgs = ['--broker', 'kafka', '--kafka-brokers', cluster.bootstrap.join(','), '--topic-prefix', prefix, '--data-dir', dirB];
    const rebuilt = await runCli(['rebuild', ...kafkaArgs, '--progress-every', '100']);
    assert.equal(rebuilt.code, 0, rebuilt.output.join('\n'));
    const finished = rebuilt.output.map((l) => JSON.parse(l) as { msg?: string; graph?: string; records?: number; offset?: number }).find((l) => l.msg === 'rebuild finished');
    assert.deepEqual(finished && [finished.graph, finished.records, finished.offset], [GRAPH, last + 1, last], rebuilt.output.join('\n'));
    assert.equal(rebuilt.output.filter((l) => l.includes('"rebuild progress"')).length, Math.floor((last + 1) / 100));

    // Served over HTTP by `strata start` on the rebuilt state: the same checksum at every offset as A.
    const port = await freePort();
    const child = startServer(port, dirB, ['--broker', 'kafka', '--kafka-brokers', cluster.bootstrap.join(','), '--topic-prefix', prefix, '--role', 'api']);
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitReady(base, child);
      const http = fetchHttp(base);
      const served: string[] = [];
      for (let at = 0; at <= last; at++) {
        const res = await http('GET', `/v1/graphs/${GRAPH}/checksum?at=${at}`);
        assert.equal(res.status, 200, res.text);
        served.push(String((res.body as { checksum: string }).checksum));
      }
      assert.equal(firstDifference(served, fromA.checksums.slice(1)), -1, 'checksums of the rebuilt replica differ from A (index = offset)');
      const log = await http('GET', `/v1/graphs/${GRAPH}/transactions?from=0&limit=1000`);
      assert.equal(log.status, 200, log.text);
      assert.deepEqual((log.body as { items: unknown[] }).items, fromA.reports.map((r) => JSON.parse(r) as unknown), 'tx reports of the rebuilt replica differ from A');
    } finally {
      await kill(child, 'SIGTERM');
    }
    // Byte for byte: the rebuilt state is the state A built live.
    await closeReplica(a);
    const stateA = join(dirA, 'state', GRAPH);
    const stateB = join(dirB, 'state', GRAPH);
    const digestA = await storeDigest(stateA);
    const digestB = await storeDigest(stateB);
    if (digestA.digest !== digestB.digest) assert.fail(`RocksDB contents differ (${digestA.entries} vs ${digestB.entries} entries):\n  ${(await storeDiff(stateA, stateB)).join('\n  ')}`);
    console.log(`kafka rebuild: ${last + 1} offsets, ${digestA.entries} RocksDB entries identical`);
  });
});
