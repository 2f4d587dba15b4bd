import RocksDB from 'rocksdb-native';
import { mkdtempSync, rmSync } from 'node:fs';
const N = Number(process.argv[2] ?? 500000), B = Number(process.argv[3] ?? 1000), VAL = Number(process.argv[4] ?? 60);
const dir = mkdtempSync('/tmp/sb/raw-');
const db = new RocksDB(dir, { createIfMissing: true });
await db.ready();
const val = Buffer.alloc(VAL, 97);
let t = performance.now();
for (let i = 0; i < N; i += B) {
  const w = db.write({ capacity: B, autoDestroy: true });
  for (let j = i; j < i + B; j++) { const k = Buffer.from(`e${(j * 2654435761 % 1000003).toString(36)}\u0000${j}`); w.tryPut(k, val); }
  await w.flush();
}
let s = (performance.now() - t) / 1000;
console.log('puts/s', (N / s).toFixed(0), 'batch', B);
// batched gets
const keys = []; for (let j = 0; j < 100000; j++) keys.push(Buffer.from(`e${(j * 2654435761 % 1000003).toString(36)}\u0000${j}`));
t = performance.now();
for (let i = 0; i < keys.length; i += 100) { const r = db.read({ capacity: 100, autoDestroy: true }); const ps = keys.slice(i, i+100).map(k => r.get(k)); r.tryFlush(); await Promise.all(ps); }
s = (performance.now() - t) / 1000; console.log('batched gets/s', (keys.length / s).toFixed(0));
t = performance.now();
for (let i = 0; i < 20000; i++) await db.get(keys[i]);
s = (performance.now() - t) / 1000; console.log('single gets/s', (20000 / s).toFixed(0));
t = performance.now();
let n = 0;
for (let i = 0; i < 5000; i++) { for await (const kv of db.iterator({ gte: keys[i], lt: Buffer.concat([keys[i], Buffer.from([0xff])]) }, { limit: 8, capacity: 8 })) n++; }
s = (performance.now() - t) / 1000; console.log('bounded scans/s', (5000 / s).toFixed(0), n);
await db.close(); rmSync(dir, { recursive: true, force: true });
