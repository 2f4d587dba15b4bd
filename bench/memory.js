// Memory at scale (issue 6: "RSS ≤ 512 MB with 10M facts"). The workload is appended straight to an
// embedded log (the bytes a server would have logged), then `strata start` — the real CLI, in its own
// process — folds the whole log on its way to ready while its RSS is sampled; then HTTP reads (entity
// as of random past offsets, latest) run against it and the RSS is sampled again. Writes
// docs/benchmarks-memory.json and prints a summary; docs/benchmarks.md quotes it.
//
// Run: npm run bench:memory [-- --facts 10000000]   (about 10–15 min for 10M facts on 2 cores)

import { mkdtempSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { EmbeddedLogAdapter } from '../dist/src/broker-adapters/embedded.js';
import { encodeTx, txSchemaFingerprint } from '../dist/src/codec/avro.js';
import { parseTxJson } from '../dist/src/codec/json.js';
import { DEFAULT_LIMITS } from '../dist/src/core/limits.js';
import { StrataServer } from './strata/server.js';
import { generateWorkload } from './workload.js';

const { values } = parseArgs({ options: { facts: { type: 'string', default: '10000000' }, reads: { type: 'string', default: '20000' } } });
const FACTS = Number(values.facts);
const READS = Number(values.reads);
const GRAPH = 'bench';
const DEPLOY_NODE_ARGS = ['--max-old-space-size=256'];
const DEPLOY_ENV = { MALLOC_ARENA_MAX: '2' };
const OUT = fileURLToPath(new URL('../docs/benchmarks-memory.json', import.meta.url));
const log = (msg) => console.log(`[memory ${new Date().toISOString().slice(11, 19)}] ${msg}`);

function dirBytes(dir) {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    total += s.isDirectory() ? dirBytes(p) : s.size;
  }
  return total;
}

async function writeLog(dataDir, txs) {
  const adapter = new EmbeddedLogAdapter({ dir: join(dataDir, 'log') });
  await adapter.open();
  await adapter.ensureGraph(GRAPH);
  const BATCH = 5000;
  for (let i = 0; i < txs.length; i += BATCH) {
    const records = txs.slice(i, i + BATCH).map((body) => {
      const tx = parseTxJson(body, DEFAULT_LIMITS);
      return { key: tx.id, value: encodeTx(tx), headers: { 'strata-schema': txSchemaFingerprint } };
    });
    await adapter.append(GRAPH, records);
    if ((i / BATCH) % 100 === 0) log(`logged ${i.toLocaleString('en')} / ${txs.length.toLocaleString('en')} txs`);
  }
  await adapter.close();
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-bench-memory-'));
  try {
    log(`generating ${FACTS.toLocaleString('en')} facts`);
    const w = generateWorkload(FACTS, 42);
    log(`${w.txs.length.toLocaleString('en')} txs, ${w.entities.length.toLocaleString('en')} entities; appending to the log`);
    await writeLog(dataDir, w.txs);
    const targets = Array.from({ length: READS }, (_, i) => {
      const e = w.entities[(i * 7919) % w.entities.length];
      const offset = e.createdAt + Math.floor(((i * 104729) % 1000) / 1000 * (w.txs.length - e.createdAt));
      return { id: e.id, offset };
    });
    const txCount = w.txs.length;
    const facts = w.facts;
    w.txs.length = 0; // the generator's copy is not the server's memory, but free it anyway

    log('starting `strata start`: it folds the whole log before /readyz answers 200');
    const samples = [];
    let sampled = null;
    const started = performance.now();
    const sampler = setInterval(() => {
      if (sampled !== null && sampled.child.exitCode === null) samples.push({ s: (performance.now() - started) / 1000, mb: sampled.rssMb() });
      if (samples.length % 30 === 1) log(`folding: RSS ${samples.at(-1)?.mb.toFixed(0)} MiB at ${samples.at(-1)?.s.toFixed(0)} s`);
    }, 2000);
    // Run as the image runs it (deploy/Dockerfile): V8's heap capped, glibc's malloc arenas kept to 2.
    const server = await StrataServer.start(dataDir, { onSpawn: (s) => (sampled = s), nodeArgs: DEPLOY_NODE_ARGS, env: DEPLOY_ENV });
    const foldSeconds = (performance.now() - started) / 1000;
    const afterReady = server.rssMb();
    log(`ready after ${foldSeconds.toFixed(0)} s (${(txCount / foldSeconds).toFixed(0)} tx/s folded), RSS ${afterReady.toFixed(0)} MiB`);

    // 404 is an answer (the entity was terminated by then); anything else but 200 is an error.
    const statuses = {};
    let readErrors = 0;
    const readStarted = performance.now();
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      const path = i % 2 === 0 ? `/v1/graphs/${GRAPH}/entities/${encodeURIComponent(t.id)}?at=${t.offset}` : `/v1/graphs/${GRAPH}/entities/${encodeURIComponent(t.id)}`;
      const res = await request(`${server.origin}${path}`);
      await res.body.dump();
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      if (res.statusCode !== 200 && res.statusCode !== 404) readErrors++;
    }
    const readSeconds = (performance.now() - readStarted) / 1000;
    const afterReads = server.rssMb();
    clearInterval(sampler);
    await server.stop();
    const result = {
      date: new Date().toISOString().slice(0, 10),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      facts, txs: txCount, foldSeconds, foldTxsPerSecond: txCount / foldSeconds,
      rssAfterReadyMb: afterReady, rssAfterReadsMb: afterReads, reads: targets.length, readStatuses: statuses, readErrors, readsPerSecond: targets.length / readSeconds,
      rssMaxWhileFoldingMb: Math.max(0, ...samples.map((x) => x.mb)),
      dataDirBytes: dirBytes(dataDir),
      server: { nodeArgs: DEPLOY_NODE_ARGS, env: DEPLOY_ENV },
    };
    writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
    log(JSON.stringify(result));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
