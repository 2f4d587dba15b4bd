// SSE memory bound (issue 5, DESIGN §5): a `strata start` child serves 2,000 idle subscribers and 100
// deliberately slow ones (they never read; each is closed with `event: lagged` once its buffer
// overflows, and reconnects from its resume offset to stall again) while txs are published steadily.
// Reports the server's RSS and heap over time, lagged closes and the events a fast control reader got.
// Run: npm run bench:sse-memory [-- --seconds 60 --idle 2000 --slow 100 --rate 200]

import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' }, idle: { type: 'string', default: '2000' }, slow: { type: 'string', default: '100' }, rate: { type: 'string', default: '100' },
    // Idle subscribers sit on a quiet graph (connections only); with this flag they sit on the busy graph
    // behind a filter that matches nothing, so every tx is still offered to each of them.
    'idle-filtered': { type: 'boolean', default: false },
  },
});
const IDLE_FILTERED = values['idle-filtered'] === true;
const SECONDS = Number(values.seconds);
const IDLE = Number(values.idle);
const SLOW = Number(values.slow);
const RATE = Number(values.rate);
const GRAPH = 'sse';
const QUIET = 'quiet';
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => ok(port));
    });
  });
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

/** An idle subscriber: reads whatever comes (heartbeats only). */
function idleSubscriber(port: number): Promise<void> {
  return new Promise((ok, fail) => {
    const path = IDLE_FILTERED ? `/v1/graphs/${GRAPH}/events?types=NoSuchType` : `/v1/graphs/${QUIET}/events`;
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      if (res.statusCode !== 200) fail(new Error(`idle subscriber: ${res.statusCode}`));
      res.resume();
      ok();
    });
    req.on('error', fail);
  });
}

interface SlowPool {
  sockets: net.Socket[];
  /** Streams the server closed (seen as a drop of strata_sse_clients) and that were reopened. */
  lagged: number;
}

/**
 * A slow subscriber sends its request and never reads: the kernel buffers fill, then the server's
 * subscription buffer overflows and the server closes it with `event: lagged`. A paused socket does not
 * notice the close, so the pool learns of it from the server's client gauge.
 */
function slowSubscriber(port: number): net.Socket {
  const socket = net.connect(port, '127.0.0.1', () => {
    socket.write(`GET /v1/graphs/${GRAPH}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    socket.pause();
  });
  socket.on('error', () => undefined);
  return socket;
}

/** Reopens as many slow subscribers as the server closed since the last look (oldest first). */
function replaceLagged(pool: SlowPool, port: number, clients: number, expected: number): void {
  const closed = Math.min(pool.sockets.length, Math.max(0, expected - clients));
  for (let i = 0; i < closed; i++) {
    pool.sockets.shift()?.destroy();
    pool.sockets.push(slowSubscriber(port));
  }
  pool.lagged += closed;
}

/** A fast control reader: counts tx events, to show delivery continues for healthy clients. */
function controlReader(port: number, counter: { events: number }): http.ClientRequest {
  return http.get({ host: '127.0.0.1', port, path: `/v1/graphs/${GRAPH}/events`, agent }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (counter.events += chunk.split('event: tx\n').length - 1));
  });
}

/** Entities the publisher rewrites: few, so the entity caches stay small and what grows is SSE's. */
const ENTITIES = 100;

async function publishSteadily(base: string, stopped: () => boolean): Promise<number> {
  const pad = 'p'.repeat(2000); // ~2 KB per event: slow clients' buffers fill quickly
  const create = { transactions: [{ ops: Array.from({ length: ENTITIES }, (_, k) => ({ op: 'create', id: `n${k}`, type: 'T' })) }] };
  await fetch(`${base}/v1/graphs/${GRAPH}/transactions:batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(create) });
  let sent = 0;
  const batch = Math.max(1, Math.round(RATE / 20));
  for (let i = 0; !stopped(); i++) {
    const started = Date.now();
    const transactions = Array.from({ length: batch }, (_, j) => {
      const n = (i * batch + j) % ENTITIES;
      return { ops: [{ op: 'set', id: `n${n}`, attr: 'pad', value: `${i}:${pad}` }] };
    });
    const res = await fetch(`${base}/v1/graphs/${GRAPH}/transactions:batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transactions }) });
    if (res.status !== 200) throw new Error(`publish: ${res.status} ${await res.text()}`);
    sent += batch;
    await sleep(Math.max(0, 50 - (Date.now() - started)));
  }
  return sent;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-sse-mem-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, [CLI, 'start', '--port', String(port), '--data-dir', dir, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      server.kill('SIGKILL');
      process.exit(1);
    });
  }
  try {
    for (let i = 0; i < 200; i++) if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break; else await sleep(50);
    await fetch(`${base}/v1/graphs/${GRAPH}`, { method: 'PUT' });
    await fetch(`${base}/v1/graphs/${QUIET}`, { method: 'PUT' });
    const mb = (n: number) => Math.round(n / 1e5) / 10;
    const baseline = await metric(base, 'process_resident_memory_bytes');
    for (let i = 0; i < IDLE; i += 100) await Promise.all(Array.from({ length: Math.min(100, IDLE - i) }, () => idleSubscriber(port)));
    let stop = false;
    const pool: SlowPool = { sockets: Array.from({ length: SLOW }, () => slowSubscriber(port)), lagged: 0 };
    const expected = IDLE + SLOW + 1;
    const control = { events: 0 };
    const controlReq = controlReader(port, control);
    await sleep(1000);
    const connected = await metric(base, 'strata_sse_clients');
    const afterConnect = await metric(base, 'process_resident_memory_bytes');
    console.log(`baseline RSS ${mb(baseline)} MB; ${connected} SSE clients connected (${IDLE} idle, ${SLOW} slow, 1 control): RSS ${mb(afterConnect)} MB`);
    const publishing = publishSteadily(base, () => stop);
    const samples: { s: number; rss: number; heap: number; external: number; clients: number }[] = [];
    const started = Date.now();
    while (Date.now() - started < SECONDS * 1000) {
      await sleep(5000);
      const s = Math.round((Date.now() - started) / 1000);
      const sample = {
        s, rss: await metric(base, 'process_resident_memory_bytes'), heap: await metric(base, 'nodejs_heap_size_used_bytes'),
        external: await metric(base, 'nodejs_external_memory_bytes'), clients: await metric(base, 'strata_sse_clients'),
      };
      samples.push(sample);
      replaceLagged(pool, port, sample.clients, expected);
      console.log(`t=${s}s RSS ${mb(sample.rss)} MB heap ${mb(sample.heap)} MB external ${mb(sample.external)} MB clients ${sample.clients} lagged-closes ${pool.lagged} control-events ${control.events}`);
    }
    stop = true;
    const sent = await publishing;
    for (const socket of pool.sockets) socket.destroy();
    controlReq.destroy();
    const rss = samples.map((x) => x.rss);
    const half = samples.slice(Math.floor(samples.length / 2));
    const slopeMbPerMin = half.length > 1 ? ((half[half.length - 1]!.rss - half[0]!.rss) / 1e6 / ((half[half.length - 1]!.s - half[0]!.s) / 60)) : 0;
    console.log(JSON.stringify({
      seconds: SECONDS, idle: IDLE, idleFiltered: IDLE_FILTERED, slow: SLOW, txPublished: sent, txPerSecond: Math.round(sent / SECONDS), controlEvents: control.events,
      laggedCloses: pool.lagged, heapPeakMb: mb(Math.max(...samples.map((x) => x.heap))), rssBaselineMb: mb(baseline), rssConnectedMb: mb(afterConnect), rssPeakMb: mb(Math.max(...rss)), rssFinalMb: mb(rss[rss.length - 1] ?? NaN),
      rssSlopeSecondHalfMbPerMin: Math.round(slopeMbPerMin * 10) / 10,
    }));
  } finally {
    server.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    process.exit(0);
  }
}

void main();
