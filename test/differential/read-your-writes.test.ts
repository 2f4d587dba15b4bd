// Read-your-writes (DESIGN.md §4): a `wait=false` publish answers 202 with its offset at once; a read with
// `minBasis=<offset>` or `at=<offset>` right after it must wait for the materializer and then answer from a
// basis that includes the tx. Answers are compared with the reference fold at the basis they report.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStrata } from '../../src/strata.js';
import { buildApp } from '../../src/api/app.js';
import { injectHttp } from '../helpers/http.js';
import { Prober, normEntity, summarizeFailures } from '../helpers/probes.js';
import { ReferenceModel, canonical } from '../reference/model.js';
import { Rng, TxGenerator } from '../reference/generator.js';

const SEED = Number((process.env['STRATA_SEEDS'] ?? '31337').split(',')[0]);
const COUNT = 150;

test(`read-your-writes: wait=false then minBasis=/at= reads see the tx (seed ${SEED})`, { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ryw-'));
  const db = await openStrata({ dataDir: dir });
  const app = await buildApp({ db });
  try {
    const http = injectHttp(app);
    const model = new ReferenceModel();
    const prober = new Prober(http, model);
    const gen = new TxGenerator(SEED);
    const rng = new Rng(SEED);
    let reads = 0;
    for (let i = 0; i < COUNT; i++) {
      const { body } = gen.next();
      const res = await http('POST', '/v1/graphs/g1/transactions?wait=false', body);
      const rec = model.publish(body);
      const reply = res.body as { offset?: number; status?: string } | undefined;
      if (res.status !== 202 || reply?.offset !== rec.offset || reply.status !== 'pending') {
        prober.fail('publish', `wait=false @${rec.offset}: expected 202 {offset:${rec.offset}, status:pending}, got ${res.status} ${res.text.slice(0, 200)}`);
        break;
      }
      const ids = body.ops.flatMap((op) => ('id' in op ? [op.id] : []));
      const id = ids.length > 0 ? rng.pick(ids) : 'n0';
      const byAt = rng.chance(0.5);
      const url = `/v1/graphs/g1/entities/${encodeURIComponent(id)}?${byAt ? 'at' : 'minBasis'}=${rec.offset}`;
      const read = await http('GET', url);
      reads++;
      const basisHeader = read.headers['strata-basis'];
      const basis = basisHeader === undefined ? Number.NaN : Number(basisHeader);
      const want = model.entity(id, rec.offset);
      if (want === null) {
        if (read.status !== 404) prober.fail('read', `${url}: expected 404, got ${read.status} ${read.text.slice(0, 200)}`);
        continue;
      }
      if (read.status !== 200 || !(basis >= rec.offset) || (byAt && basis !== rec.offset)) {
        prober.fail('read', `${url}: expected 200 at a basis ≥ ${rec.offset}, got ${read.status} basis ${basisHeader} ${read.text.slice(0, 200)}`);
        continue;
      }
      // With minBasis the basis may be later than the tx only if later txs exist, which they do not yet.
      if (canonical(normEntity(read.body)) !== canonical(normEntity(want))) {
        prober.fail('read', `${url}:\n  expected ${canonical(normEntity(want))}\n  got      ${canonical(normEntity(read.body))}`);
      }
    }
    await prober.loadTimes();
    for (const t of model.txs) await prober.tx(t.offset);
    console.log(`read-your-writes seed ${SEED}: ${model.txs.length} wait=false publishes, ${reads} immediate reads, ${prober.failures.length} disagreements`);
    assert.equal(prober.failures.length, 0, `read-your-writes disagreements (replay with STRATA_SEEDS=${SEED}):\n${summarizeFailures(prober.failures)}`);
  } finally {
    await app.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
