// Graph discovery between replicas: a graph created through replica A (its first transaction) becomes
// readable on replica B with minBasis without anyone creating it on B, and B's poll opens graphs that
// nobody has read from it yet.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { StrataDb } from '../../src/core/strata-api.js';
import type { TxInput } from '../../src/core/types.js';
import { openStrata } from '../../src/strata.js';
import { TempDirs, eventually, kafkaAdapter } from './helpers.js';
import { MockCluster, kafkaSuite, prepareLauncher } from './mock-cluster.js';

const WAIT = { wait: true, timeoutMs: 10_000 } as const;
const createTx = (id: string): TxInput => ({ id: null, meta: {}, ops: [{ op: 'create', id, type: 'T' }, { op: 'set', id, attr: 'n', value: { t: 's', v: id } }] });

const launcher = await prepareLauncher();
kafkaSuite('graph discovery', launcher, (launcherPath) => {
  let cluster: MockCluster;
  const temp = new TempDirs();
  const dbs: StrataDb[] = [];
  const prefix = `d${process.pid}`;

  before(async () => {
    cluster = await MockCluster.start(launcherPath, 1);
  });
  after(async () => {
    for (const db of dbs) await db.close();
    await cluster?.stop();
    await temp.removeAll();
  });
  const replica = async (discoveryIntervalMs: number): Promise<StrataDb> => {
    const broker = kafkaAdapter(cluster.bootstrap, prefix);
    // A short basis wait keeps the "no such graph anywhere" case quick.
    const db = await openStrata({ dataDir: await temp.make('discovery'), broker, changes: false, discoveryIntervalMs, limits: { basisWaitMsMax: 2_000 } });
    dbs.push(db);
    return db;
  };

  it('a write through A to a brand-new graph is readable on B with minBasis; B polls for the others', async () => {
    // B's poll is slow on purpose: the read below must not depend on it.
    const a = await replica(60_000);
    const b = await replica(60_000);
    assert.deepEqual(await b.listGraphs(), []);

    const written = await a.transact('fresh', createTx('x'), WAIT);
    assert.equal(written.status, 'committed');
    const basis = await b.resolveBasis('fresh', { minBasis: written.offset });
    assert.ok(basis >= written.offset);
    assert.deepEqual(await b.entity('fresh', 'x', basis), await a.entity('fresh', 'x', basis));
    assert.deepEqual(await b.diff('fresh', -1, written.offset, {}), await a.diff('fresh', -1, written.offset, {}));

    await assert.rejects(b.resolveBasis('never', { minBasis: 0 }), { code: 'graph_not_found' }, 'a graph on no log: 404 after the bounded wait');
    const c = await replica(200);
    await a.transact('quiet', createTx('y'), WAIT);
    await assert.rejects(b.resolveBasis('quiet', {}), { code: 'graph_not_found' }, 'a read without a basis to wait for does not look');
    await eventually(async () => (await c.listGraphs()).some((g) => g.name === 'quiet'), 'the poll to open "quiet"', 5_000);
    assert.deepEqual((await c.listGraphs()).map((g) => g.name), ['fresh', 'quiet']);
    const quiet = await c.resolveBasis('quiet', { minBasis: 0 });
    assert.equal((await c.entity('quiet', 'y', quiet))?.attrs.n, 'y');
  });
});
