// The diff measure of `npm run bench` repeated in rounds, to see how much its growth from 100k to 1M
// facts moves between runs. For each scale: ingest in-process, then `--rounds` rounds of 7 random
// 1,000-tx spans (fresh spans each round, so each is read cold from RocksDB), `--pause` seconds apart.
// Prints the median of each round and the ratios (after `npx tsc -p .`):
//   node bench/diff-growth.js [--rounds 5] [--pause 5]

import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as inproc from './strata/inproc.js';
import { generateWorkload, mulberry32 } from './workload.js';

const SPAN = 1_000;
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, pause: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const pauseMs = Number(values.pause) * 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const result = {};
for (const scale of [100_000, 1_000_000]) {
  const w = generateWorkload(scale, 42);
  const parsed = inproc.parseAll(w.txs);
  const { db, dataDir } = await inproc.openBenchDb();
  try {
    const t = performance.now();
    await inproc.ingest(db, parsed, 0, parsed.length);
    console.error(`${scale} facts: ingested ${parsed.length} txs in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const rnd = mulberry32(scale + 4);
    const medians = [];
    for (let r = 0; r < rounds; r++) {
      const starts = Array.from({ length: 7 }, () => Math.floor(rnd() * (parsed.length - 1 - SPAN)));
      const { medianMs } = await inproc.diffSpans(db, starts, SPAN);
      medians.push(medianMs);
      console.error(`  round ${r + 1}: median ${medianMs.toFixed(1)} ms`);
      if (r + 1 < rounds) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    result[scale] = { facts: w.facts, roundMediansMs: medians.map((m) => Number(m.toFixed(2))), medianMs: Number(median(medians).toFixed(2)) };
  } finally {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
const ratios = result[1_000_000].roundMediansMs.map((m, i) => Number((m / result[100_000].roundMediansMs[i]).toFixed(2)));
console.log(JSON.stringify({ ...result, ratioOfMedians: Number((result[1_000_000].medianMs / result[100_000].medianMs).toFixed(2)), ratioByRound: ratios }, null, 1));
