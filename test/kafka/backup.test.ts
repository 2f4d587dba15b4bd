// Backup and restore in Kafka mode (docs/operations.md "Backup", "Restore", "A new replica"): an online
// backup of one replica, taken while it folds, restored with `strata restore --broker kafka` into a new
// data directory, makes a replica that resumes folding the topic at the backup's offset + 1 (nothing
// replayed) and agrees with the original at every offset. The restore checks the topic reaches the
// backup's offset through the Kafka adapter.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTxJson } from '../../src/codec/json.js';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import type { StrataDb } from '../../src/core/strata-api.js';
import { openStrata } from '../../src/strata.js';
import { assertRestoredReplica, dbChecksums } from '../helpers/checksum.js';
import { runCli } from '../helpers/child.js';
import { Rng, TxGenerator } from '../reference/generator.js';
import { TempDirs, kafkaAdapter } from './helpers.js';
import { MockCluster, kafkaSuite, prepareLauncher } from './mock-cluster.js';

const G = 'bk';
const SEED = 5353;
const WAIT = { wait: true, timeoutMs: 30_000 } as const;

async function publish(db: StrataDb, gen: TxGenerator, rng: Rng, count: number): Promise<void> {
  for (let left = count; left > 0; ) {
    const n = Math.min(left, 1 + rng.int(10));
    left -= n;
    await db.transactBatch(G, Array.from({ length: n }, () => parseTxJson(gen.next().body, DEFAULT_LIMITS)), WAIT);
  }
}


const launcher = await prepareLauncher();
kafkaSuite('backup and restore on kafka', launcher, (launcherPath) => {
  let cluster: MockCluster;
  const temp = new TempDirs();

  before(async () => {
    cluster = await MockCluster.start(launcherPath, 1);
  });
  after(async () => {
    await cluster?.stop();
    await temp.removeAll();
  });

  describe('strata restore --broker kafka', () => {
    it('a backup taken while folding restores to a replica that resumes at its offset + 1 and agrees at every offset', { timeout: 120_000 }, async () => {
      const prefix = `bk${process.pid}`;
      await cluster.createTopic(`${prefix}.${G}.tx`, 1); // as an operator would: the mock refuses createTopics
      const [dirA, dirB, root] = [await temp.make('bk-a'), await temp.make('bk-b'), await temp.make('bk-root')];
      const gen = new TxGenerator(SEED);
      const rng = new Rng(SEED ^ 0x5eed);
      const a = await openStrata({ dataDir: dirA, broker: kafkaAdapter(cluster.bootstrap, prefix), backupDir: root });
      let backup: Awaited<ReturnType<StrataDb['backup']>>;
      let expected: string[];
      let latest: number;
      try {
        await publish(a, gen, rng, 200);
        let stop = false;
        const ingesting = (async () => {
          while (!stop) await publish(a, gen, rng, 1 + rng.int(5));
        })();
        await new Promise((resolve) => setTimeout(resolve, 50));
        backup = await a.backup(G, { name: 'nightly' });
        stop = true;
        await ingesting;
        await publish(a, gen, rng, 60); // the restored replica must fold these from the topic
        latest = (await a.graphInfo(G)).materializedOffset;
        assert.ok(latest >= backup.offset + 60, `latest ${latest}, backup at ${backup.offset}`);
        assert.equal(backup.checksum!.checksum, (await a.checksum(G, backup.offset)).checksum);
        expected = await dbChecksums(a, G, latest);
      } finally {
        await a.close();
      }

      // B: a new replica of the same topic, its state from the backup (the CLI an operator runs).
      const kafkaArgs = ['--broker', 'kafka', '--kafka-brokers', cluster.bootstrap.join(','), '--topic-prefix', prefix];
      const restored = await runCli(['restore', '--data-dir', dirB, '--from', join(root, 'nightly'), ...kafkaArgs]);
      assert.equal(restored.code, 0, restored.output.join('\n'));
      assert.ok(restored.output.some((l) => l.includes('restore finished')), restored.output.join('\n'));
      const folded: number[] = [];
      const b = await openStrata({ dataDir: dirB, broker: kafkaAdapter(cluster.bootstrap, prefix), hooks: { onFolded: (r) => folded.push(r.offset) } });
      try {
        const got = await assertRestoredReplica(b, G, folded, backup.offset, latest, expected);
        console.log(`kafka backup at offset ${backup.offset} (${backup.keys} keys); restored replica folded ${folded.length} txs to ${latest}; ${got.length} checksums equal`);
      } finally {
        await b.close();
      }
    });

    it('refuses to restore a backup the topic does not reach', { timeout: 60_000 }, async () => {
      const prefix = `bk${process.pid}short`;
      await cluster.createTopic(`${prefix}.${G}.tx`, 1);
      const [dirA, root] = [await temp.make('bk-short-a'), await temp.make('bk-short-root')];
      const gen = new TxGenerator(SEED + 1);
      const a = await openStrata({ dataDir: dirA, broker: kafkaAdapter(cluster.bootstrap, prefix), backupDir: root });
      try {
        await publish(a, gen, new Rng(1), 20);
        await a.backup(G, { name: 'b' });
      } finally {
        await a.close();
      }
      // The same backup against another (empty) topic prefix: the log there ends before the backup's offset.
      const other = `bk${process.pid}empty`;
      await cluster.createTopic(`${other}.${G}.tx`, 1);
      const dirB = await temp.make('bk-short-b');
      const res = await runCli(['restore', '--data-dir', dirB, '--from', join(root, 'b'), '--broker', 'kafka', '--kafka-brokers', cluster.bootstrap.join(','), '--topic-prefix', other]);
      assert.notEqual(res.code, 0);
      assert.ok(res.output.some((l) => l.includes('restore a log that reaches offset')), res.output.join('\n'));
    });
  });
});
