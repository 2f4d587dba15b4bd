// The SSE measure of `npm run bench` on its own (after `npx tsc -p .`): a fresh `strata start` server,
// a small seeded graph, then bench/strata/sse.js. Prints the result as JSON.
//   node bench/sse-fanout.js [--seconds 8] [--subscribers 1000] [--workers 4] [--rate 500]
//                            [--server-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { publishBatches } from './strata/http.js';
import { StrataServer } from './strata/server.js';
import { sseLatency } from './strata/sse.js';
import { generateWorkload } from './workload.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    subscribers: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '4' },
    rate: { type: 'string', default: '500' },
    'server-node-args': { type: 'string', default: '' },
  },
});

const dataDir = mkdtempSync(join(tmpdir(), 'strata-sse-'));
const nodeArgs = values['server-node-args'].split(' ').filter(Boolean);
const server = await StrataServer.start(dataDir, { nodeArgs });
try {
  // The same graph as `npm run bench`: seed 44, the first 200 txs published before subscribing.
  const w = generateWorkload(60_000, 44);
  await publishBatches(server.origin, 'sse', w.txs.slice(0, 200));
  const result = await sseLatency(server.origin, 'sse', w.txs.slice(200), {
    subscribers: Number(values.subscribers),
    workers: Number(values.workers),
    txPerSecond: Number(values.rate),
    seconds: Number(values.seconds),
    serverPid: server.child.pid,
  });
  result.serverRssMb = server.rssMb();
  console.log(JSON.stringify(result, null, 1));
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
