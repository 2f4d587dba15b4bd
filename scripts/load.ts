// Load run (issue 5): a `strata start` child takes single-tx publishes at a fixed rate (open loop,
// default 2,000 tx/s for 5 minutes) while readers query it and 500 SSE subscribers follow it. Reports
// errors, publish latency percentiles, read latency, SSE deliveries and the server's RSS over time.
// Run: npm run load [-- --seconds 60 --rate 2000 --subscribers 500 --readers 4 --server-node-args=...]
// The server runs as the image runs it (deploy/Dockerfile): V8 heap capped at 256 MB, MALLOC_ARENA_MAX=2.

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
    seconds: { type: 'string', default: '300' }, rate: { type: 'string', default: '2000' }, subscribers: { type: 'string', default: '500' },
    readers: { type: 'string', default: '4' }, 'in-flight': { type: 'string', default: '512' },
    // Node flags for the server: by default the heap cap of the image (deploy/Dockerfile); add e.g.
    // --cpu-prof to profile it, or pass '' for Node's own heap sizing.
    'server-node-args': { type: 'string', default: '--max-old-space-size=256' },
  },
});
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const SUBSCRIBERS = Number(values.subscribers);
const READERS = Number(values.readers);
const IN_FLIGHT_MAX = Number(values['in-flight']);
const GRAPH = 'load';
const ENTITIES = 10_000;
/** Subscribers that take every event; the others follow 20 entity ids each. */
const FIREHOSES = 5;
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const sseAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
let PORT = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((ok, fail) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port: PORT, method, path, agent, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end(payload);
  });
}

/** Latencies in 0.1 ms buckets up to 60 s: percentiles without keeping every sample. */
class Histogram {
  private readonly buckets = new Uint32Array(600_000);
  count = 0;
  max = 0;
  add(ms: number): void {
    this.buckets[Math.min(this.buckets.length - 1, Math.floor(ms * 10))]!++;
    this.count++;
    this.max = Math.max(this.max, ms);
  }
  percentile(p: number): number {
    let seen = 0;
    const want = Math.ceil(this.count * p);
    for (let i = 0; i < this.buckets.length; i++) if ((seen += this.buckets[i]!) >= want) return i / 10;
    return NaN;
  }
  summary(): Record<string, number> {
    return { count: this.count, p50: this.percentile(0.5), p90: this.percentile(0.9), p99: this.percentile(0.99), p999: this.percentile(0.999), max: Math.round(this.max * 10) / 10 };
  }
}

interface Stats {
  published: number;
  publishErrors: Map<string, number>;
  shed: number;
  publish: Histogram;
  reads: Histogram;
  readErrors: Map<string, number>;
  sseEvents: number;
  sseErrors: number;
  latest: number;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

async function publishOne(stats: Stats, seq: number): Promise<void> {
  const id = `e${seq % ENTITIES}`;
  const tx = { meta: { seq: String(seq) }, ops: [{ op: 'set', id, attr: 'n', value: seq }, { op: 'set', id, attr: 'at', value: new Date().toISOString() }] };
  const started = performance.now();
  try {
    const res = await request('POST', `/v1/graphs/${GRAPH}/transactions`, tx);
    stats.publish.add(performance.now() - started);
    if (res.status === 200) {
      stats.published++;
      stats.latest = Math.max(stats.latest, (JSON.parse(res.text) as { offset: number }).offset);
    } else bump(stats.publishErrors, `${res.status} ${res.text.slice(0, 80)}`);
  } catch (err) {
    bump(stats.publishErrors, (err as Error).message);
  }
}

/** Open loop: every 10 ms the next slice of the rate is sent, whatever the answers' latency. */
async function publishers(stats: Stats, stopped: () => boolean): Promise<void> {
  let inFlight = 0;
  let seq = 0;
  const started = performance.now();
  const pending = new Set<Promise<void>>();
  while (!stopped()) {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE);
    for (; seq < due; seq++) {
      if (inFlight >= IN_FLIGHT_MAX) {
        stats.shed++; // the server is behind: counted, not queued without bound
        continue;
      }
      inFlight++;
      const p = publishOne(stats, seq).finally(() => {
        inFlight--;
        pending.delete(p);
      });
      pending.add(p);
    }
    await sleep(10);
  }
  await Promise.all(pending);
}

async function reader(stats: Stats, stopped: () => boolean): Promise<void> {
  for (let i = 0; !stopped(); i++) {
    const id = `e${Math.floor(Math.random() * ENTITIES)}`;
    const past = Math.floor(Math.random() * Math.max(1, stats.latest));
    const paths = [
      `/v1/graphs/${GRAPH}/entities/${id}`,
      `/v1/graphs/${GRAPH}/entities/${id}?at=${past}`,
      `/v1/graphs/${GRAPH}/entities?type=T&limit=20&at=${past}`,
      `/v1/graphs/${GRAPH}/diff?from=${Math.max(0, stats.latest - 10)}&to=${stats.latest}`,
      `/v1/graphs/${GRAPH}/entities/${id}/history`,
    ];
    const path = paths[i % paths.length]!;
    const started = performance.now();
    try {
      const res = await request('GET', path);
      stats.reads.add(performance.now() - started);
      if (res.status !== 200 && res.status !== 404) bump(stats.readErrors, `${res.status} ${path.split('?')[0]} ${res.text.slice(0, 80)}`);
    } catch (err) {
      bump(stats.readErrors, (err as Error).message);
    }
  }
}

function subscriber(stats: Stats, index: number, open: http.ClientRequest[]): Promise<void> {
  const ids = Array.from({ length: 20 }, (_, k) => `e${(index * 20 + k) % ENTITIES}`).join(',');
  const path = index < FIREHOSES ? `/v1/graphs/${GRAPH}/events` : `/v1/graphs/${GRAPH}/events?ids=${ids}`;
  return new Promise((ok, fail) => {
    const req = http.get({ host: '127.0.0.1', port: PORT, path, agent: sseAgent }, (res) => {
      if (res.statusCode !== 200) return fail(new Error(`subscribe: ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (stats.sseEvents += chunk.split('event: tx\n').length - 1));
      res.on('end', () => stats.sseErrors++);
      ok();
    });
    req.on('error', () => stats.sseErrors++);
    open.push(req);
  });
}

async function metric(name: string): Promise<number> {
  const text = (await request('GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{graph="${GRAPH}"} `));
  return line === undefined ? NaN : Number(line.split(' ').pop());
}

/** The sum of a labelled metric's series (e.g. strata_cache_bytes over graphs and caches). */
async function metricSum(name: string): Promise<number> {
  const text = (await request('GET', '/metrics')).text;
  return text.split('\n').filter((l) => l.startsWith(`${name}{`)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => ok(port));
    });
  });
}

async function setup(): Promise<void> {
  for (let i = 0; i < 400; i++) if (await request('GET', '/readyz').then((r) => r.status === 200, () => false)) break; else await sleep(50);
  for (let i = 0; i < ENTITIES; i += 1000) {
    const res = await request('POST', `/v1/graphs/${GRAPH}/transactions`, { ops: Array.from({ length: 1000 }, (_, k) => ({ op: 'create', id: `e${i + k}`, type: 'T' })) });
    if (res.status !== 200) throw new Error(`setup: ${res.status} ${res.text}`);
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-load-'));
  PORT = await freePort();
  const nodeArgs = String(values['server-node-args']).split(' ').filter(Boolean);
  // Run as the image runs it: its heap cap (above) and glibc's malloc arenas kept to 2.
  const server = spawn(process.execPath, [...nodeArgs, CLI, 'start', '--port', String(PORT), '--data-dir', dir, '--log-level', 'warn'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { MALLOC_ARENA_MAX: '2', ...process.env },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (server.kill('SIGKILL'), process.exit(1)));
  const stats: Stats = { published: 0, publishErrors: new Map(), shed: 0, publish: new Histogram(), reads: new Histogram(), readErrors: new Map(), sseEvents: 0, sseErrors: 0, latest: 0 };
  try {
    await setup();
    const open: http.ClientRequest[] = [];
    for (let i = 0; i < SUBSCRIBERS; i += 50) await Promise.all(Array.from({ length: Math.min(50, SUBSCRIBERS - i) }, (_, k) => subscriber(stats, i + k, open)));
    const rssStart = await metric('process_resident_memory_bytes');
    console.log(`setup done: ${ENTITIES} entities, ${await metric('strata_sse_clients')} SSE clients; RSS ${(rssStart / 1e6).toFixed(1)} MB; publishing ${RATE} tx/s for ${SECONDS} s`);
    let stop = false;
    const work = [publishers(stats, () => stop), ...Array.from({ length: READERS }, () => reader(stats, () => stop))];
    // RSS alone cannot tell a leak from V8 growing its heap lazily: the heap and the caches are sampled too.
    const rss: { s: number; mb: number; lag: number; heapUsedMb: number; heapTotalMb: number; cacheMb: number }[] = [];
    const started = Date.now();
    let last = 0;
    while (Date.now() - started < SECONDS * 1000) {
      await sleep(10_000);
      const s = Math.round((Date.now() - started) / 1000);
      const mb = async (bytes: Promise<number>): Promise<number> => Math.round((await bytes) / 1e5) / 10;
      const sample = {
        s, mb: await mb(metric('process_resident_memory_bytes')), lag: await metric('strata_materializer_lag_offsets'),
        heapUsedMb: await mb(metric('nodejs_heap_size_used_bytes')), heapTotalMb: await mb(metric('nodejs_heap_size_total_bytes')), cacheMb: await mb(metricSum('strata_cache_bytes')),
      };
      rss.push(sample);
      console.log(`t=${s}s published ${stats.published} (${Math.round((stats.published - last) / 10)}/s) shed ${stats.shed} errors ${[...stats.publishErrors.values()].reduce((a, b) => a + b, 0)} RSS ${sample.mb} MB (heap ${sample.heapUsedMb}/${sample.heapTotalMb}, caches ${sample.cacheMb}) lag ${sample.lag} p99 ${stats.publish.percentile(0.99)} ms sse events ${stats.sseEvents}`);
      last = stats.published;
    }
    stop = true;
    await Promise.all(work);
    for (const req of open) req.destroy();
    const half = rss.slice(Math.floor(rss.length / 2));
    const slope = half.length > 1 ? (half[half.length - 1]!.mb - half[0]!.mb) / ((half[half.length - 1]!.s - half[0]!.s) / 60) : 0;
    console.log(JSON.stringify({
      seconds: SECONDS, targetRate: RATE, published: stats.published, achievedRate: Math.round(stats.published / SECONDS), shed: stats.shed,
      publishErrors: Object.fromEntries(stats.publishErrors), publishLatencyMs: stats.publish.summary(),
      reads: stats.reads.summary(), readErrors: Object.fromEntries(stats.readErrors), subscribers: SUBSCRIBERS, sseEvents: stats.sseEvents, sseDisconnects: stats.sseErrors,
      rssMb: rss.map((x) => x.mb), rssSlopeSecondHalfMbPerMin: Math.round(slope * 10) / 10,
      heapUsedMb: rss.map((x) => x.heapUsedMb), heapTotalMb: rss.map((x) => x.heapTotalMb), cacheMb: rss.map((x) => x.cacheMb),
      serverNodeArgs: nodeArgs,
    }));
  } finally {
    // SIGTERM lets a profiled server write its profile; SIGKILL follows if it does not stop.
    server.kill('SIGTERM');
    await Promise.race([new Promise((r) => server.once('exit', r)), sleep(5000)]);
    server.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    process.exit(0);
  }
}

void main();
