import { generateWorkload } from '../workload.js';
import * as inproc from '../strata/inproc.js';
import { runOrdered } from '../lib/schedule.js';
const w = generateWorkload(20000, 43);
const parsed = inproc.parseAll(w.txs);
const { db } = await inproc.openBenchDb();
for (const wait of [false, true, false, true]) {
  const lat = [];
  const base = wait ? 0 : 0;
  const t = performance.now();
  const off = wait ? 4000 : 0;
  // each pass uses a fresh graph so dependencies hold
  const g = 'g' + Math.random().toString(36).slice(2, 8);
  await runOrdered(w.txs, 0, 2000, [0,1,2,3,4,5,6,7], async (_, i) => { const t0 = performance.now(); await db.transact(g, parsed[i], { wait, timeoutMs: 60000 }); lat.push(performance.now() - t0); });
  lat.sort((a,b)=>a-b);
  console.log('wait', wait, (2000 / ((performance.now() - t) / 1000)).toFixed(0), 'tx/s p50', lat[1000].toFixed(2), 'ms p99', lat[1980].toFixed(2));
}
await db.close();
