// Backup with its offset, online (issue 5; docs/operations.md "Backup" and "Restore"). A backup taken
// through the API while clients publish holds one consistent state and its materialized offset; a
// replica started on it (`strata restore`, same log) resumes folding at that offset + 1 — nothing is
// replayed from 0 — and then agrees with the original at every offset (slice checksums, view rows).
// Also: refusals (existing target, a second concurrent backup, write failures), the admin scope, and
// `strata backup` / `strata restore` on stopped data directories, including their refusals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../../src/api/app.js';
import { accessFor } from '../../src/api/auth.js';
import { parseTxJson } from '../../src/codec/json.js';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import type { StrataDb } from '../../src/core/strata-api.js';
import type { BackupManifest } from '../../src/db/backup.js';
import { openStrata } from '../../src/strata.js';
import { assertRestoredReplica, dbChecksums, storeDigest } from '../helpers/checksum.js';
import { runCli } from '../helpers/child.js';
import { Rng, TxGenerator } from '../reference/generator.js';
import { allViewRows, rowSet } from '../views/helpers.js';

const G = 'bk';
const SEED = Number(process.env['STRATA_BACKUP_SEED'] ?? 4242);
const VIEW = { find: ['?o', '?s'], where: [{ id: '?o', attr: 'status', value: '?s' }] };

type Json = Record<string, any>;

async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Publishes `count` generated txs (1–20 per log append), waiting for their outcomes. */
async function publish(db: StrataDb, gen: TxGenerator, rng: Rng, count: number): Promise<void> {
  for (let left = count; left > 0; ) {
    const n = Math.min(left, 1 + rng.int(20));
    left -= n;
    const txs = Array.from({ length: n }, () => parseTxJson(gen.next().body, DEFAULT_LIMITS));
    await db.transactBatch(G, txs, { wait: true, timeoutMs: 30_000 });
  }
}


/** A copy of a data directory's log (without the lock of the process that had it open). */
async function copyLog(fromDataDir: string, toDataDir: string): Promise<void> {
  await cp(join(fromDataDir, 'log'), join(toDataDir, 'log'), { recursive: true, filter: (src) => !src.endsWith('LOCK') });
}

test('an online backup taken while ingesting restores to a replica that resumes at its offset and agrees at every offset', { timeout: 300_000 }, async () => {
  const dirA = await tempDir('strata-bk-a-');
  const dirB = await tempDir('strata-bk-b-');
  const root = await tempDir('strata-bk-root-');
  const folds: { offset: number; at: number }[] = [];
  const a = await openStrata({ dataDir: dirA, backupDir: root, hooks: { onFolded: (r) => folds.push({ offset: r.offset, at: performance.now() }) } });
  const app = await buildApp({ db: a });
  let closedA = false;
  try {
    const gen = new TxGenerator(SEED);
    const rng = new Rng(SEED ^ 0xb4c);
    await publish(a, gen, rng, 150);
    await a.defineView(G, 'status', VIEW, { wait: true, timeoutMs: 30_000 });
    await publish(a, gen, rng, 250);

    // Clients keep publishing while the backup runs.
    let stop = false;
    const ingesting = (async () => {
      while (!stop) await publish(a, gen, rng, 1 + rng.int(10));
    })();
    await new Promise((r) => setTimeout(r, 30));
    const before = (await a.graphInfo(G)).materializedOffset;
    const t0 = performance.now();
    const res = await app.inject({ method: 'POST', url: `/v1/graphs/${G}/backup`, payload: { name: 'nightly' } });
    const t1 = performance.now();
    stop = true;
    await ingesting;
    assert.equal(res.statusCode, 201, res.body);
    const backup = JSON.parse(res.body) as Json;
    const foldedDuring = folds.filter((f) => f.at > t0 && f.at < t1).length;
    assert.ok(backup.offset >= before, `backup offset ${backup.offset} < ${before}, materialized when it started`);
    assert.ok(foldedDuring > 0, 'the materializer kept folding during the backup');
    await publish(a, gen, rng, 100); // the restored replica must fold these from the log
    const latest = (await a.graphInfo(G)).materializedOffset;
    assert.ok(latest > backup.offset + 100);
    console.log(
      `backup of ${backup.keys} keys (${backup.bytes} B, ${backup.diskBytes} B on disk) at offset ${backup.offset} in ${backup.ms} ms (${Math.round(t1 - t0)} ms request); ` +
        `${foldedDuring} txs folded meanwhile (offset ${before} → ${folds.filter((f) => f.at < t1).at(-1)?.offset}); latest ${latest}`,
    );

    // The answer and the manifest describe the copy: its offset, the views' offset, its checksum there.
    assert.equal(backup.dir, join(root, 'nightly'));
    assert.equal(backup.graph, G);
    assert.equal(backup.checksum.checksum, (await a.checksum(G, backup.offset)).checksum);
    assert.ok(backup.viewsOffset >= 150 && backup.viewsOffset <= backup.offset, `views offset ${backup.viewsOffset}`);
    const manifest = JSON.parse(await readFile(join(root, 'nightly', 'backup.json'), 'utf8')) as BackupManifest;
    assert.equal(manifest.format, 'strata-backup-v1');
    assert.deepEqual(manifest.graphs.map((g) => [g.graph, g.path, g.offset, g.keys, g.checksum?.checksum]), [[G, join('state', G), backup.offset, backup.keys, backup.checksum.checksum]]);

    const expected = await dbChecksums(a, G, latest);
    const probes = [backup.viewsOffset, backup.offset, latest, backup.offset + 1 + rng.int(latest - backup.offset)];
    const expectedRows = await Promise.all(probes.map(async (at) => rowSet(await allViewRows(a, G, 'status', at, 500))));
    await app.close();
    await a.close();
    closedA = true;

    // Restore: B gets A's log and the backup's state, through the command an operator runs.
    await copyLog(dirA, dirB);
    const restored = await runCli(['restore', '--data-dir', dirB, '--from', join(root, 'nightly')]);
    assert.equal(restored.code, 0, restored.output.join('\n'));
    assert.ok(restored.output.some((l) => l.includes('restore finished')), restored.output.join('\n'));
    const foldedB: number[] = [];
    const b = await openStrata({ dataDir: dirB, hooks: { onFolded: (r) => foldedB.push(r.offset) } });
    try {
      await assertRestoredReplica(b, G, foldedB, backup.offset, latest, expected);
      for (const [i, at] of probes.entries()) {
        await b.resolveBasis(G, { minBasis: latest });
        assert.deepEqual(rowSet(await allViewRows(b, G, 'status', at, 500)), expectedRows[i], `view rows at ${at}`);
      }
    } finally {
      await b.close();
    }
  } finally {
    if (!closedA) {
      await app.close();
      await a.close();
    }
    for (const d of [dirA, dirB, root]) await rm(d, { recursive: true, force: true });
  }
});

test('backup refusals: an existing target, a second backup at once, a write failure, an unknown graph; admin scope', { timeout: 120_000 }, async () => {
  const dir = await tempDir('strata-bk-ref-');
  const root = join(dir, 'backups');
  const db = await openStrata({ dataDir: dir, backupDir: root });
  const app = await buildApp({ db });
  const post = (graph: string, payload: unknown) => app.inject({ method: 'POST', url: `/v1/graphs/${graph}/backup`, payload: payload as object });
  const code = (res: { body: string }) => (JSON.parse(res.body) as Json).error?.code;
  try {
    await publish(db, new TxGenerator(SEED), new Rng(1), 60);
    assert.equal((await post(G, {})).statusCode, 201); // a default name under the root
    assert.equal((await readdir(root)).length, 1);
    assert.match((await readdir(root))[0]!, new RegExp(`^${G}-\\d{8}T\\d{6}-\\d{3}Z$`));

    const first = await post(G, { name: 'one', checksum: false });
    assert.equal(first.statusCode, 201, first.body);
    assert.equal((JSON.parse(first.body) as Json).checksum, null);
    const again = await post(G, { name: 'one' });
    assert.equal(again.statusCode, 409);
    assert.equal(code(again), 'backup_target_exists');

    await mkdir(join(root, 'foreign'));
    await writeFile(join(root, 'foreign', 'keep.txt'), 'not ours');
    assert.equal(code(await post(G, { name: 'foreign' })), 'backup_target_exists');
    assert.equal(await readFile(join(root, 'foreign', 'keep.txt'), 'utf8'), 'not ours', 'a refused target is left untouched');
    await mkdir(join(root, 'empty'));
    assert.equal((await post(G, { name: 'empty' })).statusCode, 201, 'an existing empty directory is fine');

    // One backup at a time per process.
    const [x, y] = await Promise.all([post(G, { name: 'x' }), post(G, { name: 'y' })]);
    assert.deepEqual([x.statusCode, y.statusCode].sort(), [201, 409]);
    assert.equal(code(x.statusCode === 409 ? x : y), 'backup_in_progress');

    // Names are one path segment; unknown graphs are 404.
    assert.equal(code(await post(G, { name: '../escape' })), 'invalid_request');
    assert.equal(code(await post(G, { name: 'a/b' })), 'invalid_request');
    assert.equal(code(await post(G, { nme: 'typo' })), 'invalid_request');
    assert.equal(code(await post('nope', {})), 'graph_not_found');
    assert.deepEqual(accessFor('POST', '/v1/graphs/:graph/backup', { graph: G }), { kind: 'graph', graph: G, scope: 'admin' });
  } finally {
    await app.close();
    await db.close();
  }
  // A backup directory that cannot be created: 507 backup_failed.
  const blocked = join(dir, 'file');
  await writeFile(blocked, 'a file, not a directory');
  const db2 = await openStrata({ dataDir: dir, backupDir: join(blocked, 'backups') });
  const app2 = await buildApp({ db: db2 });
  try {
    const res = await app2.inject({ method: 'POST', url: `/v1/graphs/${G}/backup`, payload: { name: 'z' } });
    assert.equal(res.statusCode, 507, res.body);
    assert.equal((JSON.parse(res.body) as Json).error.code, 'backup_failed');
    assert.equal((JSON.parse(res.body) as Json).error.details.errno, 'ENOTDIR');
  } finally {
    await app2.close();
    await db2.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('`strata backup` copies a stopped data dir byte for byte and refuses a running one; `strata restore` refuses a log that ends before the offset', { timeout: 120_000 }, async () => {
  const dir = await tempDir('strata-bk-cli-');
  const out = join(dir, 'out');
  try {
    const db = await openStrata({ dataDir: join(dir, 'data') });
    try {
      await publish(db, new TxGenerator(SEED), new Rng(2), 120);
      // The server holds RocksDB's lock: the command says to use the API instead.
      const refused = await runCli(['backup', '--data-dir', join(dir, 'data'), '--out', out]);
      assert.equal(refused.code, 1, refused.output.join('\n'));
      assert.match(refused.output.join('\n'), /in use .*POST \/v1\/graphs\/bk\/backup/);
    } finally {
      await db.close();
    }
    const done = await runCli(['backup', '--data-dir', join(dir, 'data'), '--out', out]);
    assert.equal(done.code, 0, done.output.join('\n'));
    assert.ok(done.output.some((l) => l.includes('"msg":"backup finished"')), done.output.join('\n'));
    const manifest = JSON.parse(await readFile(join(out, 'backup.json'), 'utf8')) as BackupManifest;
    assert.deepEqual(manifest.graphs.map((g) => g.graph), [G]);
    assert.equal(manifest.graphs[0]!.offset, 119);
    const source = await storeDigest(join(dir, 'data', 'state', G));
    const copy = await storeDigest(join(out, 'state', G));
    assert.deepEqual(copy, source, 'the copy holds every key and value of the state');
    assert.equal((await runCli(['backup', '--data-dir', join(dir, 'data'), '--out', out])).code, 1, 'a non-empty target is refused');

    // A data dir whose log ends before the backup's offset: nothing is restored.
    const empty = join(dir, 'fresh');
    const noLog = await runCli(['restore', '--data-dir', empty, '--from', out]);
    assert.equal(noLog.code, 1, noLog.output.join('\n'));
    assert.match(noLog.output.join('\n'), /materialized up to offset 119 but the log ends at -1/);
    assert.deepEqual(await readdir(join(empty, 'state')).catch(() => []), []);
    const notBackup = await runCli(['restore', '--data-dir', empty, '--from', join(dir, 'data')]);
    assert.equal(notBackup.code, 1);
    assert.match(notBackup.output.join('\n'), /not a complete backup/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
