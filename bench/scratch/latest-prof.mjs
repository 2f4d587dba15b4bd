import { generateWorkload } from '../workload.js';
import * as inproc from '../strata/inproc.js';
const w = generateWorkload(100000, 42);
const parsed = inproc.parseAll(w.txs);
const { db } = await inproc.openBenchDb();
await inproc.ingest(db, parsed, 0, parsed.length);
const nodes = w.entities.filter((e) => e.kind === 'node');
const ids = Array.from({ length: 200000 }, (_, i) => nodes[(i * 7919) % nodes.length].id);
for (let k = 0; k < 5; k++) { const r = inproc.latestAttrs(db, ids); console.log("latestAttrs attrs/s", r.attrsPerSecond.toFixed(0), 'reads/s', r.perSecond.toFixed(0)); }
let t = performance.now(); let n = 0;
for (const id of ids) { const a = db.latestAttrs('bench', id); if (a) n++; }
console.log('bare loop reads/s', (ids.length / ((performance.now() - t) / 1000)).toFixed(0));
await db.close();
