import { generateWorkload } from '../workload.js';
import { runOrdered } from '../lib/schedule.js';
const w = generateWorkload(20000, 43);
let inflight = 0, samples = 0, sum = 0;
await runOrdered(w.txs, 0, 3000, [0,1,2,3,4,5,6,7], async () => { inflight++; sum += inflight; samples++; await new Promise(r => setTimeout(r, 1)); inflight--; });
console.log('avg in flight at start', (sum / samples).toFixed(2));
