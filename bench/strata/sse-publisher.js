// Child process: publishes txs over HTTP (POST …/transactions?wait=false), open loop at a fixed rate:
// every `burstMs` it sends every tx whose time has come (tx i is due at i / rate s), whether or not
// earlier requests have been answered, so a slow server shows up as latency, not as a lower rate. Each
// tx carries its send time in its meta (`<key>`: µs on CLOCK_MONOTONIC, see sse-subscribers.js).
// Protocol with the parent (IPC): ← {publish: {origin, graph, txs, txPerSecond, seconds, burstMs,
// metaKey}}, → {published: {sent, acked, errors, first, last, seconds, lateP99Ms, lateMaxMs}}.

import { Pool } from 'undici';

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function publish({ origin, graph, txs, txPerSecond, seconds, burstMs, metaKey }) {
  const total = Math.min(txs.length, Math.round(txPerSecond * seconds));
  // The body without its meta, serialized once: only the publish time is written per request.
  const rest = txs.slice(0, total).map((tx) => JSON.stringify({ ...tx, meta: undefined }).slice(1));
  // Enough connections that a request never waits for a free one at this rate (open loop).
  const pool = new Pool(origin, { connections: 64, pipelining: 1 });
  const path = `/v1/graphs/${graph}/transactions?wait=false`;
  const late = new Float64Array(total); // how far behind its due time each tx left (ms)
  const acks = []; // request → 202 (ms): the log append, before any delivery
  let acked = 0;
  let errors = 0;
  let first = Infinity;
  let last = -Infinity;
  const inFlight = new Set();
  const send = (i, t) => {
    const body = `{"meta":{"${metaKey}":"${t}"},${rest[i]}`;
    const r = pool
      .request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then(async (res) => {
        const text = await res.body.text();
        if (res.statusCode !== 202) throw new Error(`${res.statusCode} ${text.slice(0, 200)}`);
        acks.push((nowUs() - t) / 1000);
        const { offset } = JSON.parse(text);
        first = Math.min(first, offset);
        last = Math.max(last, offset);
        acked++;
      })
      .catch((err) => {
        if (errors++ === 0) process.stderr.write(`sse publisher: ${err.message}\n`);
      });
    inFlight.add(r);
    r.finally(() => inFlight.delete(r));
  };
  const started = nowUs();
  let sent = 0;
  while (sent < total) {
    const elapsedUs = nowUs() - started;
    const due = Math.min(total, Math.floor((elapsedUs / 1e6) * txPerSecond) + 1);
    for (; sent < due; sent++) {
      const t = nowUs();
      late[sent] = (t - started) / 1000 - (sent / txPerSecond) * 1000;
      send(sent, t);
    }
    if (sent < total) await sleep(burstMs);
  }
  const elapsed = (nowUs() - started) / 1e6; // the first tx leaves at 0, the last at (total - 1) / rate
  await Promise.all(inFlight);
  await pool.close();
  const sorted = Array.from(late).sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  const pct = (xs, p) => xs[Math.max(0, Math.ceil(p * xs.length) - 1)] ?? NaN;
  return {
    sent,
    acked,
    errors,
    first,
    last,
    seconds: elapsed,
    txPerSecond: total > 1 ? (total - 1) / elapsed : NaN,
    lateP99Ms: pct(sorted, 0.99),
    ackP50Ms: pct(acks, 0.5),
    ackP99Ms: pct(acks, 0.99),
    lateMaxMs: sorted[sorted.length - 1] ?? NaN,
    cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  };
}

process.on('message', (msg) => {
  if (!msg.publish) return;
  publish(msg.publish).then(
    (published) => process.send({ published }, () => process.exit(0)),
    (err) => process.send({ error: String(err?.stack ?? err) }, () => process.exit(1)),
  );
});
process.send({ ready: true });
