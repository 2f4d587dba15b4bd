// Materializer alone: build a log, drop the state, reopen and time the catch-up.
import { generateWorkload } from '../workload.js';
import { openStrata } from '../../dist/src/strata.js';
import { parseTxJson } from '../../dist/src/codec/json.js';
import { DEFAULT_LIMITS } from '../../dist/src/core/limits.js';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import inspector from 'node:inspector/promises';
const N = Number(process.argv[2] ?? 100000);
const dir = process.argv[3] ?? mkdtempSync('/tmp/sb/mat-');
const w = generateWorkload(N);
if (!existsSync(dir + '/log')) {
  const txs = w.txs.map((b) => parseTxJson(b, DEFAULT_LIMITS));
  const db = await openStrata({ dataDir: dir });
  let t = performance.now();
  for (let i = 0; i < txs.length; i += 1000) await db.transactBatch('g', txs.slice(i, i + 1000), { wait: false, timeoutMs: 1 });
  console.log('append only', (txs.length / ((performance.now() - t) / 1000)).toFixed(0), 'tx/s');
  await db.close();
}
rmSync(dir + '/state', { recursive: true, force: true });
const t = performance.now();
const db = await openStrata({ dataDir: dir });
while (!db.isReady()) await new Promise((r) => setTimeout(r, 5));
const s = (performance.now() - t) / 1000;
console.log('materialize', w.txs.length, 'txs in', s.toFixed(2), 's:', (w.txs.length / s).toFixed(0), 'tx/s', (w.facts / s).toFixed(0), 'facts/s');
await db.close();
console.log('dir', dir);
