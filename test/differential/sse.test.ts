// SSE subscriptions (DESIGN.md §5) over a real socket: while txs are being published, a subscriber reads
// from=0, disconnects mid-stream, resumes with Last-Event-ID (sent together with from=0, which it must
// override), disconnects again, resumes with from=; a last subscriber without from= sees only new txs.
// Every offset must arrive exactly once and in order, each with the reference fold's net changes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openStrata } from '../../src/strata.js';
import { buildApp } from '../../src/api/app.js';
import { injectHttp } from '../helpers/http.js';
import { Prober, comparePublishReply, normChange, summarizeFailures } from '../helpers/probes.js';
import { openSse, type SseConnection } from '../helpers/sse.js';
import { ReferenceModel, canonical, changeMultisetDiff } from '../reference/model.js';
import { TxGenerator } from '../reference/generator.js';

const SEED = Number((process.env['STRATA_SEEDS'] ?? '777').split(',')[0]);
const TOTAL = 240;

interface Received {
  connection: string;
  sseId: string | undefined;
  event: string | undefined;
  data: Record<string, unknown>;
}

/** Reads events into `into` until `stop` says so, the stream ends, or the deadline passes. */
async function readUntil(conn: SseConnection, label: string, into: Received[], stop: (r: Received) => boolean, timeoutMs: number): Promise<'stopped' | 'ended' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return 'timeout';
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      conn.events.next(),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
    ]);
    clearTimeout(timer);
    if (next === 'timeout') return 'timeout';
    if (next.done === true) return 'ended';
    const r: Received = { connection: label, sseId: next.value.id, event: next.value.event, data: JSON.parse(next.value.data) as Record<string, unknown> };
    into.push(r);
    if (stop(r)) return 'stopped';
  }
}

test(`SSE: exactly once, in order, resumable, with the reference net changes (seed ${SEED})`, { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-sse-'));
  const db = await openStrata({ dataDir: dir });
  const app = await buildApp({ db });
  const connections: SseConnection[] = [];
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphs/g1/events`;
    const http = injectHttp(app);
    const model = new ReferenceModel();
    const prober = new Prober(http, model);
    const gen = new TxGenerator(SEED);
    const publish = async (count: number, pauseMs = 0): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const { body } = gen.next();
        const res = await http('POST', '/v1/graphs/g1/transactions', body);
        const mismatch = comparePublishReply(model.publish(body), res);
        if (mismatch !== null) prober.fail('publish', mismatch);
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    };
    const open = async (label: string, query: string, headers: Record<string, string> = {}): Promise<SseConnection> => {
      const c = await openSse(`${url}${query}`, headers);
      connections.push(c);
      assert.equal(c.status, 200, `${label}: SSE status`);
      return c;
    };

    await publish(20);
    const received: Received[] = [];
    // Phase 1: catch-up from 0 flowing into live delivery while txs keep arriving; cut after 60 events.
    const publishing = publish(140, 2);
    const c1 = await open('from=0', '?from=0');
    assert.equal(await readUntil(c1, 'from=0', received, () => received.length >= 60, 30_000), 'stopped', 'phase 1 did not get 60 events');
    c1.close();
    // Phase 2: Last-Event-ID wins over from=0; cut again mid-stream.
    const lastId = String(received.at(-1)!.data['offset']);
    const c2 = await open('Last-Event-ID', '?from=0', { 'last-event-id': lastId });
    const got2 = received.length;
    assert.equal(await readUntil(c2, 'Last-Event-ID', received, () => received.length >= got2 + 70, 30_000), 'stopped', 'phase 2 did not get 70 events');
    c2.close();
    await publishing;
    const rest = publish(TOTAL - model.txs.length, 1);
    // Phase 3: from= the next offset.
    const nextFrom = Number(received.at(-1)!.data['offset']) + 1;
    const c3 = await open('from=next', `?from=${nextFrom}`);
    await rest;
    assert.equal(await readUntil(c3, 'from=next', received, (r) => r.data['offset'] === TOTAL - 1, 30_000), 'stopped', 'phase 3 did not reach the last offset');
    c3.close();

    // Phase 4: no from= means only txs materialized after subscribing.
    const live: Received[] = [];
    // Not awaited before publishing: a server may hold the headers back until the first event.
    const c4Opening = open('live', '');
    await new Promise((r) => setTimeout(r, 300));
    await publish(5);
    const c4 = await c4Opening;
    assert.equal(await readUntil(c4, 'live', live, () => live.length >= 5, 15_000), 'stopped', 'live subscriber did not get 5 events');
    c4.close();
    assert.deepEqual(live.map((r) => r.data['offset']), [TOTAL, TOTAL + 1, TOTAL + 2, TOTAL + 3, TOTAL + 4], 'live subscriber: only new txs, in order');

    await prober.loadTimes();
    const offsets = received.map((r) => r.data['offset']);
    assert.deepEqual(offsets, Array.from({ length: TOTAL }, (_, i) => i), 'every offset exactly once, in order, across the reconnects');
    let changesChecked = 0;
    for (const r of [...received, ...live]) {
      const rec = model.txs[r.data['offset'] as number]!;
      const where = `offset ${rec.offset} (${r.connection})`;
      if (r.event !== 'tx' || r.sseId !== String(rec.offset)) prober.fail('sse', `${where}: event ${r.event} id ${r.sseId}`);
      if (r.data['status'] !== rec.outcome.status) prober.fail('sse', `${where}: status ${String(r.data['status'])}, expected ${rec.outcome.status}`);
      if ((r.data['id'] ?? null) !== (rec.body.id ?? null)) prober.fail('sse', `${where}: id ${String(r.data['id'])}`);
      if (typeof r.data['time'] !== 'string' || Date.parse(r.data['time']) !== rec.timeMs) prober.fail('sse', `${where}: time ${String(r.data['time'])}`);
      const meta = (r.data['meta'] ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(rec.body.meta ?? {})) if (meta[k] !== v) prober.fail('sse', `${where}: meta.${k}`);
      const changes = ((r.data['changes'] ?? []) as unknown[]).map(normChange);
      const d = changeMultisetDiff(changes, rec.changes);
      if (d.onlyA.length + d.onlyB.length > 0) prober.fail('sse', `${where}: changes extra ${d.onlyA.join(' ')} missing ${d.onlyB.join(' ')}`);
      if (rec.outcome.status === 'aborted') {
        const err = (r.data['error'] ?? {}) as Record<string, unknown>;
        const want = { code: rec.outcome.code, op: rec.outcome.op };
        if (canonical({ code: err['code'], op: err['op'] ?? null }) !== canonical(want)) prober.fail('sse', `${where}: error ${JSON.stringify(r.data['error'])}, expected ${canonical(want)}`);
      }
      changesChecked += changes.length;
    }
    const perConnection = [...received, ...live].reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.connection]: (acc[r.connection] ?? 0) + 1 }), {});
    console.log(`sse seed ${SEED}: ${received.length + live.length} events ${JSON.stringify(perConnection)}, ${changesChecked} changes compared; ${prober.failures.length} disagreements`);
    assert.equal(prober.failures.length, 0, `SSE disagreements (replay with STRATA_SEEDS=${SEED}):\n${summarizeFailures(prober.failures)}`);
  } finally {
    for (const c of connections) c.close();
    await app.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
