// SSE fan-out, measured on the server: the server is `strata start` in its own process; the
// subscribers live in `workers` child processes (sse-subscribers.js: a byte scan per chunk, no JSON);
// a publisher child (sse-publisher.js) publishes txs over HTTP open loop at a fixed rate, each carrying
// its send time. Latency is publish → arrival at the subscriber's socket, on CLOCK_MONOTONIC.
// This process only coordinates: it forks the children, merges their histograms and checks that every
// subscriber received every published tx in order.

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SUBSCRIBERS = fileURLToPath(new URL('./sse-subscribers.js', import.meta.url));
const PUBLISHER = fileURLToPath(new URL('./sse-publisher.js', import.meta.url));
const META_KEY = 'benchPublishedUs';

/** The next IPC message of `child` that has `key`; rejects if the child exits first or after `ms`. */
function message(child, key, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`sse bench: no '${key}' from a child within ${ms} ms`)), ms);
    const onMessage = (msg) => {
      if (msg?.error) done(new Error(msg.error));
      else if (msg && key in msg) done(null, msg[key]);
    };
    const onExit = (code) => done(new Error(`sse bench: a child exited (${code}) before '${key}'`));
    function done(err, value) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** CPU time (user + system, s) a process has used so far, from /proc; NaN when unknown. */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** The graph's counts of committed and aborted txs (GET /v1/graphs/:graph). */
async function counts(origin, graph) {
  const res = await fetch(`${origin}/v1/graphs/${graph}`);
  return (await res.json()).counts;
}

/** p-th percentile (ms) of merged sparse histograms [bucket, count, bucket, count, …]. */
function percentiles(results, ps) {
  const bucketUs = results[0].bucketUs;
  const counts = new Map();
  let total = 0;
  for (const r of results) {
    for (let i = 0; i < r.buckets.length; i += 2) {
      counts.set(r.buckets[i], (counts.get(r.buckets[i]) ?? 0) + r.buckets[i + 1]);
      total += r.buckets[i + 1];
    }
  }
  const sorted = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  return ps.map((p) => {
    const target = Math.max(1, Math.ceil((p / 100) * total));
    let seen = 0;
    for (const [bucket, n] of sorted) {
      seen += n;
      if (seen >= target) return ((bucket + 1) * bucketUs) / 1000; // the bucket's upper bound
    }
    return NaN;
  });
}

function worstBySecond(results, seconds) {
  // Each worker counts seconds from the first publish time it saw; all see the same first tx.
  const n = Math.ceil(seconds) + 1;
  return Array.from({ length: n }, (_, i) => Math.round(Math.max(...results.map((r) => r.worstBySecond[i] ?? 0)) / 100) / 10);
}

/**
 * `subscribers` SSE streams on `graph` (split over `workers` processes), then `txPerSecond` txs/s from
 * `txs` for `seconds` s. Every stream must receive every published tx: `complete` counts the streams
 * that did (all ids from the first published offset to the last, in order, none twice).
 */
export async function sseLatency(origin, graph, txs, { subscribers, workers = 4, txPerSecond, seconds, burstMs = 4, drainMs = 10_000, warmupSeconds = 1, serverPid }) {
  const started = performance.now();
  const children = [];
  try {
    const per = Math.ceil(subscribers / workers);
    for (let w = 0, left = subscribers; left > 0; w++, left -= per) {
      children.push(fork(SUBSCRIBERS, [origin, graph, String(Math.min(per, left)), META_KEY, String(warmupSeconds)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
    }
    await Promise.all(children.map((c) => message(c, 'ready', 60_000))); // every stream is open
    const connectSeconds = (performance.now() - started) / 1000;

    const publisher = fork(PUBLISHER, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(publisher);
    await message(publisher, 'ready', 30_000);
    const before = await counts(origin, graph);
    const serverCpu = cpuSecondsOf(serverPid);
    const publishStarted = performance.now();
    publisher.send({ publish: { origin, graph, txs, txPerSecond, seconds, burstMs, metaKey: META_KEY } });
    const pub = await message(publisher, 'published', seconds * 1000 + 60_000);

    const drainStarted = performance.now();
    const subscribersOut = children.filter((c) => c !== publisher);
    for (const c of subscribersOut) c.send({ finish: { first: pub.first, last: pub.last, waitMs: drainMs } });
    const results = await Promise.all(subscribersOut.map((c) => message(c, 'result', drainMs + 30_000)));
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const busySeconds = (performance.now() - publishStarted) / 1000;
    const serverCpuSeconds = cpuSecondsOf(serverPid) - serverCpu;

    const after = await counts(origin, graph);
    const [p50Ms, p99Ms, maxMs] = percentiles(results, [50, 99, 100]);
    const sum = (key) => results.reduce((n, r) => n + r[key], 0);
    const published = pub.acked; // the txs the server accepted, each one offset in [first, last]
    return {
      subscribers,
      workers: subscribersOut.length,
      published,
      publishErrors: pub.errors,
      // Aborted txs are events too (with their error); concurrent requests may reach the log out of order.
      aborted: after.aborted - before.aborted,
      achievedTxPerSecond: pub.txPerSecond,
      publishSeconds: pub.seconds,
      publisherLateP99Ms: pub.lateP99Ms,
      ackP50Ms: pub.ackP50Ms, // publish request → 202 (appended to the log)
      ackP99Ms: pub.ackP99Ms,
      events: sum('events'),
      expectedEvents: published * subscribers,
      eventsPerRead: sum('events') / sum('chunks'), // events per socket read on the subscriber side
      complete: sum('complete'),
      disordered: sum('disordered'),
      incomplete: results.find((r) => r.incomplete !== null)?.incomplete ?? null,
      lagged: sum('lagged'),
      closed: sum('closed'),
      warmupSeconds, // publishing before this is left out of the percentiles (not of the checks)
      p50Ms,
      p99Ms,
      maxMs,
      // CPU used while publishing and draining, in cores (1 = one core busy all the time)
      serverCores: serverCpuSeconds / busySeconds,
      serverCpuMsPerTx: (serverCpuSeconds * 1000) / published, // what the load cost the server, per tx
      subscriberCores: sum('cpuSeconds') / busySeconds, // includes connecting: a slight overestimate
      publisherCores: pub.cpuSeconds / pub.seconds,
      // Worst latency (ms) per second of publishing, over all subscribers: where in the run the tail is.
      worstMsBySecond: worstBySecond(results, pub.seconds),
      connectSeconds,
      drainSeconds,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit') : undefined)));
  }
}
