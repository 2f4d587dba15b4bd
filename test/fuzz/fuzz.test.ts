// Hostile input (issue 5): ≥ 10,000 seeded random and malformed requests through inject() — paths,
// ids, offsets, query strings, headers, content types, malformed / huge / deeply nested JSON,
// `__proto__` / `constructor` keys, invalid UTF-8. Every answer must be a success or a documented error
// (code in the registry, status = the registry's; never a 500), the process stays healthy, and nothing
// changes: no generated publish is valid, so the log, the checksum and the graph list stay as they were.
// Replay with STRATA_FUZZ_SEED=<seed>; more with STRATA_FUZZ_REQUESTS=<n>.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { ERRORS, type ErrorCode } from '../../src/core/errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/core/limits.js';
import type { StrataDb } from '../../src/core/strata-api.js';
import { openStrata } from '../../src/strata.js';
import { Rng } from '../reference/generator.js';
import { fuzzRequest, publishRequest, readRequest, type FuzzRequest } from './inputs.js';

const SEED = Number(process.env['STRATA_FUZZ_SEED'] ?? 4711);
const REQUESTS = Number(process.env['STRATA_FUZZ_REQUESTS'] ?? 10_000);
const G = 'fuzz';
/** Responses a valid request may get: reads answer 2xx; a minBasis past the log waits, then 504. */
const SLOW_BASIS_MS = 20;

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** Sends one request; an SSE stream (a valid subscription) is closed as soon as its headers arrive. */
async function send(app: FastifyInstance, r: FuzzRequest): Promise<Answer> {
  const controller = new AbortController();
  const res = await app.inject({
    method: r.method as 'GET',
    url: r.url,
    headers: r.headers,
    ...(r.payload === undefined ? {} : { payload: r.payload }),
    payloadAsStream: true,
    signal: controller.signal,
  });
  const contentType = String(res.headers['content-type'] ?? '');
  const stream = res.stream() as Readable;
  if (contentType.startsWith('text/event-stream')) {
    controller.abort();
    stream.destroy();
    return { status: res.statusCode, contentType, body: '' };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return { status: res.statusCode, contentType, body: Buffer.concat(chunks).toString('utf8') };
}

/** Why an answer breaks the contract, or null when it keeps it. */
function violation(r: FuzzRequest, a: Answer): string | null {
  if (a.status >= 500 && a.status !== 504) return `status ${a.status}`;
  if (a.status < 400) {
    const path = r.url.split(/[?#]/)[0]!;
    const publish = (r.method === 'POST' && /\/transactions(:batch)?$/.test(path)) || ((r.method === 'PUT' || r.method === 'DELETE') && /\/views\/[^/]+$/.test(path));
    return publish ? `a generated publish or view change was accepted (${a.status}): nothing generated is meant to be valid` : null;
  }
  if (r.method === 'HEAD') return null; // no body by definition
  let code: unknown;
  try {
    code = (JSON.parse(a.body) as { error?: { code?: unknown; message?: unknown } }).error?.code;
  } catch {
    return `a ${a.status} without a JSON error body: ${a.body.slice(0, 120)}`;
  }
  if (typeof code !== 'string' || !(code in ERRORS)) return `undocumented code ${JSON.stringify(code)}`;
  if (ERRORS[code as ErrorCode].status !== a.status) return `code ${code} with status ${a.status} (registry: ${ERRORS[code as ErrorCode].status})`;
  if (a.status === 504 && code !== 'basis_not_reached') return `504 with ${code}`;
  return null;
}

async function snapshot(db: StrataDb): Promise<string> {
  const graphs = await db.listGraphs();
  const info = await db.graphInfo(G);
  const sum = await db.checksum(G, info.materializedOffset);
  return JSON.stringify({ graphs: graphs.map((g) => g.name), latest: info.latestOffset, materialized: info.materializedOffset, checksum: sum.checksum });
}

function describe(r: FuzzRequest): string {
  const text = typeof r.payload === 'string' ? r.payload : r.payload?.toString('utf8');
  const payload = text === undefined ? '' : ` ${r.payload!.length} bytes: ${text.slice(0, 160)}`;
  return `${r.kind} ${r.method} ${r.url.slice(0, 200)} ${JSON.stringify(r.headers).slice(0, 200)}${payload}`;
}

test(`fuzz: ${REQUESTS} hostile requests get documented answers, never a 500, and change nothing (seed ${SEED})`, { timeout: 600_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-fuzz-'));
  const limits: Limits = { ...DEFAULT_LIMITS, basisWaitMsMax: SLOW_BASIS_MS };
  const db = await openStrata({ dataDir, limits });
  const app = await buildApp({ db, limits });
  const started = Date.now();
  try {
    const seedTx = { ops: [{ op: 'create', id: 'n1', type: 'T' }, { op: 'create', id: 'n2', type: 'T' }, { op: 'link', id: 'e1', type: 'E', from: 'n1', to: 'n2' }, { op: 'set', id: 'n1', attr: 'a', value: 'x' }] };
    assert.equal((await app.inject({ method: 'POST', url: `/v1/graphs/${G}/transactions`, payload: seedTx })).statusCode, 200);
    const before = await snapshot(db);
    const rng = new Rng(SEED);
    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    const kinds = new Map<string, number>();
    const problems: string[] = [];
    let logEnd = (await db.graphInfo(G)).latestOffset;
    for (let i = 0; i < REQUESTS; i++) {
      const pick = rng.float();
      const r = pick < 0.25 ? publishRequest(rng) : pick < 0.45 ? readRequest(rng) : fuzzRequest(rng);
      let a: Answer;
      try {
        a = await send(app, r);
      } catch (err) {
        problems.push(`#${i} threw ${(err as Error).message}: ${describe(r)}`);
        continue;
      }
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
      const code = a.status >= 400 && a.body.startsWith('{') ? String((JSON.parse(a.body) as { error?: { code?: string } }).error?.code) : String(a.status);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      const wrong = violation(r, a);
      if (wrong !== null) problems.push(`#${i} ${wrong}: ${describe(r)} → ${a.body.slice(0, 200)}`);
      if (r.method !== 'GET' && r.method !== 'HEAD') {
        const latest = (await db.graphInfo(G)).latestOffset;
        if (latest !== logEnd) problems.push(`#${i} appended ${latest - logEnd} record(s) to the log (answer ${a.status}): ${describe(r)} → ${a.body.slice(0, 200)}`);
        logEnd = latest;
      }
      if (i % 1000 === 999) assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, `unhealthy after ${i + 1} requests`);
    }
    const sorted = (m: Map<string | number, number>) => Object.fromEntries([...m].sort((x, y) => y[1] - x[1]));
    console.log(`fuzz seed ${SEED}: ${REQUESTS} requests in ${Date.now() - started} ms; statuses ${JSON.stringify(sorted(statuses))}; codes ${JSON.stringify(sorted(codes))}; inputs ${JSON.stringify(sorted(kinds))}; ${problems.length} problems`);
    assert.equal(problems.length, 0, `fuzz problems (replay with STRATA_FUZZ_SEED=${SEED}):\n${problems.slice(0, 40).join('\n')}`);
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    assert.equal(await snapshot(db), before, 'the fuzz changed the state');
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false, 'Object.prototype was polluted');
  } finally {
    await app.close();
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
