import { generateWorkload, readTargets } from '../workload.js';
import * as inproc from '../strata/inproc.js';
const N = Number(process.argv[2] ?? 100000);
const w = generateWorkload(N, 42);
const parsed = inproc.parseAll(w.txs);
const { db } = await inproc.openBenchDb();
let t = performance.now();
await inproc.ingest(db, parsed, 0, parsed.length);
console.log('ingest facts/s', (w.facts / ((performance.now() - t) / 1000)).toFixed(0));
const nodes = w.entities.filter((e) => e.kind === 'node');
const ids = Array.from({ length: Number(process.env.IDS ?? 20000) }, (_, i) => nodes[(i * 7919) % nodes.length].id);
for (let k = 0; k < 3; k++) {
  const r = await inproc.entityLatest(db, ids, parsed.length - 1);
  console.log('latest attrs/s', r.attrsPerSecond.toFixed(0), 'p50 µs', (r.p50Ms * 1000).toFixed(1));
}
for (let k = 0; k < 3; k++) { const r = inproc.latestAttrs(db, ids); console.log("latestAttrs attrs/s", r.attrsPerSecond.toFixed(0), "misses", r.misses); }
const targets = readTargets(w, 20000, { seed: N });
for (let k = 0; k < 2; k++) {
  const a = await inproc.entityAsOf(db, targets, 1); const b = await inproc.entityAsOf(db, targets, 32);
  console.log('asOf c1', a.perSecond.toFixed(0), 'p50 µs', (a.p50Ms*1000).toFixed(1), 'c32', b.perSecond.toFixed(0));
}
const starts = [1000, 3000, 5000, 8000, 12000, 15000, 20000].filter((x) => x + 1000 < parsed.length);
for (let k = 0; k < 2; k++) { const d = await inproc.diffSpans(db, starts, 1000); console.log('diff ms', d.medianMs.toFixed(1), 'changes', d.changesPerDiff); }
await db.close();
