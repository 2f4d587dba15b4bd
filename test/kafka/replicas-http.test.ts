// Two real `strata start --broker kafka` processes on one mock cluster, spoken to over HTTP only: a graph
// created through A is readable on B with minBasis, both answer identically (entities, diffs, the log)
// at random offsets, and only the role that owns derived topics (all) produces the changes topic.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { fetchHttp, type Http, type HttpResponse } from '../helpers/http.js';
import { Rng, generateTxs } from '../reference/generator.js';
import type { TxBody } from '../reference/model.js';
import { TempDirs, eventually } from './helpers.js';
import { MockCluster, kafkaSuite, prepareLauncher } from './mock-cluster.js';

const SEED = Number(process.env['STRATA_SEEDS']?.split(',')[0] ?? 7117);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const START_TIMEOUT_MS = 20_000;

interface Replica {
  http: Http;
  proc: ChildProcess;
  output: string[];
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** The parent's environment without Strata or Kafka settings, so only the flags below configure a child. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('STRATA_') && !name.startsWith('KAFKA_')));
}

/** Starts `strata start` on port 0 and learns the port from fastify's "Server listening at" log line. */
async function startReplica(args: string[]): Promise<Replica> {
  const proc = spawn(process.execPath, [CLI, 'start', '--port', '0', '--log-level', 'info', ...args], { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  const output: string[] = [];
  const address = new Promise<string>((resolveAddress, reject) => {
    const timer = setTimeout(() => reject(new Error(`strata did not listen within ${START_TIMEOUT_MS} ms:\n${output.join('\n')}`)), START_TIMEOUT_MS);
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n').filter((l) => l !== '')) {
        output.push(line);
        const url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
        if (url) {
          clearTimeout(timer);
          resolveAddress(url);
        }
      }
      if (output.length > 200) output.splice(0, output.length - 200);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    proc.once('exit', (code) => reject(new Error(`strata exited with ${code}:\n${output.join('\n')}`)));
  });
  return { http: fetchHttp(await address), proc, output };
}

async function stopReplica(replica: Replica): Promise<void> {
  if (replica.proc.exitCode !== null) return;
  const exited = new Promise<void>((r) => replica.proc.once('exit', () => r()));
  replica.proc.kill('SIGTERM');
  const timer = setTimeout(() => replica.proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function ok(res: HttpResponse, what: string): Record<string, unknown> {
  assert.ok(res.status < 300, `${what}: ${res.status} ${res.text}`);
  return res.body as Record<string, unknown>;
}

/** Every entity id the txs mention (created, linked, or only named by a failing op). */
function entityIds(txs: TxBody[]): string[] {
  const ids = new Set<string>();
  for (const tx of txs) for (const op of tx.ops) if ('id' in op) ids.add(op.id);
  return [...ids].sort();
}

const launcher = await prepareLauncher();
kafkaSuite('replicas over HTTP', launcher, (launcherPath) => {
  let cluster: MockCluster;
  const temp = new TempDirs();
  const replicas: Replica[] = [];

  before(async () => {
    cluster = await MockCluster.start(launcherPath, 1);
  });
  after(async () => {
    await Promise.all(replicas.map(stopReplica));
    await cluster?.stop();
    await temp.removeAll();
  });

  it('write via A, read on B with minBasis; identical answers at random offsets; one changes producer', async () => {
    const prefix = `h${process.pid}`;
    const common = ['--broker', 'kafka', '--kafka-brokers', cluster.bootstrap.join(','), '--topic-prefix', prefix];
    const [a, b] = await Promise.all([
      startReplica([...common, '--role', 'all', '--data-dir', await temp.make('http-a')]),
      startReplica([...common, '--role', 'api', '--data-dir', await temp.make('http-b')]),
    ]);
    replicas.push(a, b);
    const txs = generateTxs(SEED, 40).map((g) => g.body);

    // The graph comes into being through A; B was never told of it.
    const first = ok(await a.http('POST', '/v1/graphs/shop/transactions', txs[0]), 'first publish');
    const seen = await b.http('GET', `/v1/graphs/shop/entities/n1?minBasis=${String(first.offset)}`);
    assert.equal(seen.status, 200, seen.text);
    assert.ok(Number(seen.headers['strata-basis']) >= Number(first.offset));
    assert.equal((seen.body as { attrs: { name: string } }).attrs.name, 'widget');

    // One batch through each replica, one after the other, so log order is generation order.
    const results = [
      ...(ok(await a.http('POST', '/v1/graphs/shop/transactions:batch', { transactions: txs.slice(1, 26) }), 'batch via A').results as { offset: number }[]),
      ...(ok(await b.http('POST', '/v1/graphs/shop/transactions:batch', { transactions: txs.slice(26) }), 'batch via B').results as { offset: number }[]),
    ];
    const offsets = [Number(first.offset), ...results.map((r) => r.offset)];
    const last = Math.max(...offsets);
    for (const replica of [a, b]) ok(await replica.http('GET', `/v1/graphs/shop?minBasis=${last}`), 'read-your-writes');

    await compareReplicas(a.http, b.http, offsets, entityIds(txs), new Rng(SEED));
    await checkChangesTopic(cluster.bootstrap, `${prefix}.shop.changes`, last + 1);
  });
});

/** Both replicas give byte-identical answers for entities and diffs at random offsets, and the same log. */
async function compareReplicas(a: Http, b: Http, offsets: number[], ids: string[], rng: Rng): Promise<void> {
  const statuses: number[] = [];
  const same = async (url: string, expected?: number): Promise<void> => {
    const [left, right] = await Promise.all([a('GET', url), b('GET', url)]);
    assert.equal(right.status, left.status, `${url}: status`);
    assert.deepEqual(right.body, left.body, url);
    if (expected !== undefined) assert.equal(left.status, expected, `${url}: ${left.text}`);
    statuses.push(left.status);
  };
  for (let k = 0; k < 8; k++) {
    const at = rng.pick(offsets);
    for (const id of ids) await same(`/v1/graphs/shop/entities/${encodeURIComponent(id)}?at=${at}`);
    await same(`/v1/graphs/shop/entities?type=Order&at=${at}`, 200);
    await same(`/v1/graphs/shop/diff?from=${rng.pick(offsets)}&to=${at}`, 200);
    await same(`/v1/graphs/shop/diff?from=0&to=${at}`, 200);
  }
  await same(`/v1/graphs/shop/transactions?from=0&limit=100`, 200);
  // Ids come and go (created late, terminated, never committed), but plenty are found: not a comparison of 404s.
  const found = statuses.filter((s) => s === 200).length;
  assert.ok(found >= 40, `only ${found} of ${statuses.length} reads found something`);
}

/** Exactly one report per offset on the changes topic: A (all) produced them, B (api) produced nothing. */
async function checkChangesTopic(brokers: string[], topic: string, reports: number): Promise<void> {
  const admin = new Kafka({ brokers, clientId: 'changes-check', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const end = async (): Promise<number> => {
      const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
      return Number(offsets.find((o) => o.partition === 0)?.high ?? 0);
    };
    await eventually(async () => (await end()) >= reports, `${reports} reports on ${topic}`, 10_000);
    await new Promise((r) => setTimeout(r, 500)); // a second producer would show up as extra records now
    assert.equal(await end(), reports, 'one record per tx report: only the all-role replica produced');
  } finally {
    await admin.disconnect();
  }
}
