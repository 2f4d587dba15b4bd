// The differential test of DESIGN.md §10: seeded random transactions are published through the HTTP API
// (fastify inject, embedded engine), every outcome is compared with the naive reference fold, and then
// every kind of read (entity, listing, where, history, diff both ways, tx log, asOf) is compared at
// ≥100 random offsets. Replay a failure with STRATA_SEEDS=<seed>.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStrata } from '../../src/strata.js';
import { buildApp } from '../../src/api/app.js';
import { injectHttp, type Http } from '../helpers/http.js';
import { Prober, compareBatchResult, comparePublishReply, replyTimeMs, summarizeFailures } from '../helpers/probes.js';
import { ReferenceModel, type Outcome, type Scalar, type TxRecord } from '../reference/model.js';
import { Rng, TxGenerator } from '../reference/generator.js';

const DEFAULT_SEEDS = [101, 202, 303, 404, 505];
const TX_COUNT = Number(process.env['STRATA_TXS'] ?? 400);
const PROBE_OFFSETS = Number(process.env['STRATA_PROBE_OFFSETS'] ?? 100);

function seeds(): number[] {
  const env = process.env['STRATA_SEEDS'];
  if (env !== undefined && env.trim() !== '') return env.split(',').map((s) => Number(s.trim()));
  const random = Math.floor(Math.random() * 2 ** 31);
  console.log(`differential: random seed ${random} (replay with STRATA_SEEDS=${random})`);
  return [...DEFAULT_SEEDS, random];
}

type PublishMode = 'single' | 'batch';

/** Seeds at odd positions publish through `transactions:batch` (chunks of 1–25); STRATA_PUBLISH overrides. */
function publishMode(position: number): PublishMode {
  const env = process.env['STRATA_PUBLISH'];
  if (env === 'single' || env === 'batch') return env;
  return position % 2 === 1 ? 'batch' : 'single';
}

function countOutcome(outcomes: Map<string, number>, o: Outcome): void {
  const key = o.status === 'committed' ? 'committed' : o.code;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

/** The offset a reply must carry: the tx's own, or the original one for a duplicate. */
function replyOffset(rec: TxRecord): number {
  const o = rec.outcome;
  return o.status === 'aborted' && o.code === 'duplicate_tx' ? o.originalOffset! : rec.offset;
}

/** Publishes the generated stream and checks each reply against the reference; returns outcome counts. */
async function publishAll(http: Http, model: ReferenceModel, prober: Prober, seed: number, mode: PublishMode): Promise<Map<string, number>> {
  const gen = new TxGenerator(seed);
  const chunkRng = new Rng(seed ^ 0xba7c4);
  const outcomes = new Map<string, number>();
  while (model.txs.length < TX_COUNT) {
    const size = mode === 'single' ? 1 : Math.min(1 + chunkRng.int(25), TX_COUNT - model.txs.length);
    const bodies = Array.from({ length: size }, () => gen.next().body);
    const res =
      mode === 'single'
        ? await http('POST', '/v1/graphs/g1/transactions', bodies[0])
        : await http('POST', '/v1/graphs/g1/transactions:batch', { transactions: bodies });
    const results = mode === 'single' ? [res.body] : ((res.body as { results?: unknown[] } | undefined)?.results ?? []);
    if (mode === 'batch' && (res.status !== 200 || results.length !== size)) {
      prober.fail('publish', `batch of ${size} at offset ${model.nextOffset}: ${res.status} ${res.text.slice(0, 300)}`);
      return outcomes;
    }
    for (const [i, body] of bodies.entries()) {
      const rec = model.publish(body);
      countOutcome(outcomes, rec.outcome);
      const time = mode === 'single' ? replyTimeMs(res) : undefined;
      if (rec.outcome.status === 'committed' && time !== undefined) model.setTime(rec.offset, time);
      const mismatch = mode === 'single' ? comparePublishReply(rec, res) : compareBatchResult(rec, results[i]);
      if (mismatch !== null) prober.fail('publish', mismatch);
      if ((results[i] as { offset?: number } | undefined)?.offset !== replyOffset(rec)) {
        // Offsets no longer line up with the model: every later comparison would be noise.
        prober.fail('publish', `stopping after offset ${rec.offset}: the engine's offsets diverged from the log order`);
        return outcomes;
      }
    }
  }
  return outcomes;
}

/** Ids worth probing around offset `at`: those named by nearby txs, plus random ones and a never-used id. */
function idsNear(model: ReferenceModel, rng: Rng, at: number, count: number): string[] {
  const near = new Set<string>();
  for (let o = Math.max(0, at - 2); o <= Math.min(model.latestOffset, at + 1); o++) {
    for (const op of model.txs[o]!.body.ops) if ('id' in op) near.add(op.id);
  }
  const all = model.allIds();
  const ids = new Set<string>();
  const nearList = [...near];
  while (ids.size < count) ids.add(rng.chance(0.5) && nearList.length > 0 ? rng.pick(nearList) : rng.pick(all));
  if (rng.chance(0.2)) ids.add('never-used-id');
  return [...ids];
}

/** A where filter that matches something at `at` most of the time. */
function whereFor(model: ReferenceModel, rng: Rng, at: number): { attr: string; value: Scalar; quote: boolean } {
  const live = [...model.sliceAt(at).entities.values()].filter((e) => e.attrs.size > 0);
  const quote = rng.chance(0.3);
  if (live.length > 0 && rng.chance(0.8)) {
    const e = rng.pick(live);
    const [attr, v] = rng.pick([...e.attrs]);
    return { attr, value: Array.isArray(v) ? rng.pick(v) : v, quote };
  }
  return { attr: rng.pick(['status', 'name', 'qty', 'tags', 'flag', 'price']), value: rng.pick<Scalar>(['open', 'a', 3, 'red', true, 1.5]), quote };
}

async function probeOffset(prober: Prober, model: ReferenceModel, rng: Rng, at: number, index: number): Promise<void> {
  for (const id of idsNear(model, rng, at, 6)) await prober.entity(id, at);
  const types = model.typesUsed();
  await prober.list(at, { type: rng.pick(types) }, rng.chance(0.7) ? 1 + rng.int(6) : undefined);
  const w = whereFor(model, rng, at);
  await prober.list(at, { where: [w] }, rng.chance(0.5) ? 1 + rng.int(4) : undefined);
  if (index % 3 === 0) await prober.list(at, { type: rng.pick(types), where: [w] });
  if (index % 5 === 0) await prober.list(at, { where: [w, whereFor(model, rng, at)] }, 2);
  for (const id of idsNear(model, rng, at, 2)) await prober.history(id, at);
  const other = rng.int(model.latestOffset + 1);
  await prober.diff(at, other);
  await prober.diff(other, at);
  if (index % 4 === 0) await prober.diff(Math.min(at, other), Math.max(at, other), { id: rng.pick(idsNear(model, rng, at, 1)) });
  if (index % 4 === 2) await prober.diff(other, at, { type: rng.pick(types) });
  if (index % 10 === 0) await prober.asOf(rng.pick(idsNear(model, rng, at, 1)), at);
  await prober.tx(at);
}

for (const [position, seed] of seeds().entries()) {
  const mode = publishMode(position);
  test(`differential: engine vs reference fold, seed ${seed} (${mode} publish)`, { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-differential-'));
    const db = await openStrata({ dataDir: dir });
    const app = await buildApp({ db });
    try {
      const http = injectHttp(app);
      const model = new ReferenceModel();
      const prober = new Prober(http, model);
      const started = Date.now();
      const outcomes = await publishAll(http, model, prober, seed, mode);
      const publishedMs = Date.now() - started;
      await prober.loadTimes();
      const rng = new Rng(seed ^ 0x5eed);
      const offsets = new Set<number>([0, model.latestOffset]);
      while (offsets.size < Math.min(PROBE_OFFSETS, model.txs.length)) offsets.add(rng.int(model.txs.length));
      let index = 0;
      for (const at of [...offsets].sort((a, b) => a - b)) await probeOffset(prober, model, rng, at, index++);
      await prober.list(undefined, { type: 'Order' }, 3);
      await prober.outOfRange();
      await prober.graphInfo();
      console.log(
        `seed ${seed}: ${model.txs.length} txs published (${mode}) in ${publishedMs} ms; ${prober.total} probes at ${offsets.size} offsets ` +
          `${JSON.stringify(Object.fromEntries(prober.counts))}; outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}; ` +
          `${prober.failures.length} disagreements; ${Date.now() - started} ms`,
      );
      assert.equal(
        prober.failures.length,
        0,
        `seed ${seed}: ${prober.failures.length} disagreements (replay with STRATA_SEEDS=${seed}):\n${summarizeFailures(prober.failures)}`,
      );
    } finally {
      await app.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
