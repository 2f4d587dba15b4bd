// HTTP load against a running Strata server: entity reads as of offsets and the empty-route ceiling
// with a minimal keep-alive client (lib/http-client.js, one request per connection at a time), batch
// and single-tx publishing with undici.

import { Pool } from 'undici';
import { KeepAliveClient } from '../lib/http-client.js';
import { runOrdered } from '../lib/schedule.js';
import { closedLoop } from '../lib/stats.js';

export function pool(origin, connections) {
  return new Pool(origin, { connections, pipelining: 1 });
}

/** `count` GETs of `pathOf(i)` on `concurrency` keep-alive connections, closed loop. */
async function getLoop(origin, count, concurrency, pathOf, expect) {
  const client = await KeepAliveClient.open(origin, concurrency);
  try {
    return await closedLoop(count, concurrency, (i) => client.get(pathOf(i), expect));
  } finally {
    client.close();
  }
}

export function entityAsOf(origin, graph, targets, concurrency) {
  const paths = targets.map((t) => `/v1/graphs/${graph}/entities/${encodeURIComponent(t.id)}?at=${t.offset}`);
  return getLoop(origin, paths.length, concurrency, (i) => paths[i], [200, 404]);
}

/** The ceiling of this client against this server: a route that does nothing (GET /healthz). */
export function emptyRoute(origin, count, concurrency) {
  return getLoop(origin, count, concurrency, () => '/healthz', [200]);
}

async function post(p, path, body) {
  const res = await p.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.body.text();
  if (res.statusCode >= 300 && res.statusCode !== 409) throw new Error(`POST ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** transactions:batch with wait=true, chunks under the 1 MiB body limit, `inFlight` chunks at a time. */
export async function publishBatches(origin, graph, txs, { perBatch = 500, inFlight = 2 } = {}) {
  const p = pool(origin, inFlight);
  const started = performance.now();
  let aborted = 0;
  try {
    const pending = [];
    const settle = async (r) => {
      for (const x of (await r).results) if (x.status !== 'committed') aborted++;
    };
    for (let i = 0; i < txs.length; i += perBatch) {
      pending.push(post(p, `/v1/graphs/${graph}/transactions:batch?wait=true`, { transactions: txs.slice(i, i + perBatch) }));
      if (pending.length >= inFlight) await settle(pending.shift());
    }
    for (const r of pending) await settle(r);
  } finally {
    await p.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, txsPerSecond: txs.length / seconds, aborted };
}

/** One tx per request, wait=true, 8 at a time, dependent txs kept in order (lib/schedule.js). */
export async function publishSingles(origin, graph, txs, concurrency) {
  const p = pool(origin, concurrency);
  const started = performance.now();
  let aborted = 0;
  try {
    const workers = Array.from({ length: concurrency }, (_, i) => i);
    await runOrdered(txs, 0, txs.length, workers, async (_, i) => {
      const r = await post(p, `/v1/graphs/${graph}/transactions?wait=true`, txs[i]);
      if (r.status !== 'committed') aborted++;
    });
  } finally {
    await p.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, txsPerSecond: txs.length / seconds, aborted };
}
