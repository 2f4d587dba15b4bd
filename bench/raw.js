// The bounds that limit Strata, measured on the same machine in the same run: raw rocksdb-native
// batched puts (the same number of entries, sizes and batch sizes the materializer wrote), batched gets,
// bounded scans, and raw appends to the embedded log (the same encoded records, fsync'd).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import RocksDB from 'rocksdb-native';
import { EmbeddedLogAdapter } from '../dist/src/broker-adapters/embedded.js';
import { encodeTx, txSchemaFingerprint } from '../dist/src/codec/avro.js';
import { closedLoop } from './lib/stats.js';

/** Keys spread over the key space like entity ids are, with the average size the materializer used. */
function key(i, size) {
  const head = `e${((i * 2654435761) % 4294967291).toString(36)}:${i}`;
  return Buffer.from(head.length >= size ? head : head.padEnd(size, '.'));
}

export async function rawRocks(writeStats) {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-raw-'));
  const db = new RocksDB(dir, { createIfMissing: true });
  await db.ready();
  try {
    const keySize = Math.round(writeStats.keyBytes / writeStats.puts);
    const value = Buffer.alloc(Math.round(writeStats.valueBytes / writeStats.puts), 0x61);
    let i = 0;
    const started = performance.now();
    for (const size of writeStats.batchSizes) {
      const batch = db.write({ capacity: size, autoDestroy: true });
      for (let j = 0; j < size; j++, i++) batch.tryPut(key(i, keySize), value);
      await batch.flush();
    }
    const putSeconds = (performance.now() - started) / 1000;
    const keys = Array.from({ length: Math.min(i, 50_000) }, (_, j) => key(j * Math.floor(i / Math.min(i, 50_000)), keySize));
    const gets = await closedLoop(keys.length / 100, 1, async (n) => {
      const batch = db.read({ capacity: 100, autoDestroy: true });
      const ps = keys.slice(n * 100, n * 100 + 100).map((k) => batch.get(k));
      batch.tryFlush();
      await Promise.all(ps);
    });
    const singleGets = await closedLoop(5_000, 1, (n) => db.get(keys[n % keys.length]));
    const scans = await closedLoop(3_000, 1, async (n) => {
      const gte = keys[n % keys.length];
      for await (const _ of db.iterator({ gte, lt: Buffer.concat([gte, Buffer.from([0xff])]) }, { limit: 8, capacity: 8 })) void _;
    });
    return {
      puts: i,
      putSeconds,
      putsPerSecond: i / putSeconds,
      batchedGetsPerSecond: gets.perSecond * 100,
      singleGetsPerSecond: singleGets.perSecond,
      boundedScansPerSecond: scans.perSecond,
    };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Appends the encoded txs: in batches (like transactions:batch), then one by one at concurrency 8. */
export async function rawLog(parsed, batchSize, singles) {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-log-'));
  const log = new EmbeddedLogAdapter({ dir });
  await log.open();
  try {
    await log.ensureGraph('raw');
    await log.ensureGraph('single');
    const records = parsed.map((tx) => ({ key: tx.id, value: encodeTx(tx), headers: { 'strata-schema': txSchemaFingerprint } }));
    const started = performance.now();
    const pending = [];
    for (let i = 0; i < records.length; i += batchSize) {
      pending.push(log.append('raw', records.slice(i, i + batchSize)));
      if (pending.length >= 2) await pending.shift();
    }
    await Promise.all(pending);
    const batchSeconds = (performance.now() - started) / 1000;
    const one = await closedLoop(Math.min(singles, records.length), 8, (i) => log.append('single', [records[i]]));
    return { batchedTxsPerSecond: records.length / batchSeconds, singleC8TxsPerSecond: one.perSecond };
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
