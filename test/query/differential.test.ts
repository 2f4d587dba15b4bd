// Differential test of the query engine: random graph histories (published with db.transact) and random
// queries from a small grammar, evaluated by the engine and by a naive nested-loop evaluator over the
// whole slice listed through the public API, at random offsets. Replay with STRATA_QUERY_SEEDS=<seed>.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StrataDb } from '../../src/core/strata-api.js';
import { Rng } from '../reference/generator.js';
import { listSlice, withDb } from './helpers.js';
import { publishRandomGraph, QueryGen } from './gen.js';
import { naiveQuery, type NaiveEntity, type QueryJson } from './naive.js';

const TX_COUNT = Number(process.env['STRATA_QUERY_TXS'] ?? 120);
const OFFSETS_PER_SEED = Number(process.env['STRATA_QUERY_OFFSETS'] ?? 10);
const QUERIES_PER_OFFSET = Number(process.env['STRATA_QUERY_QUERIES'] ?? 30);

function seeds(): number[] {
  const env = process.env['STRATA_QUERY_SEEDS'];
  if (env !== undefined && env.trim() !== '') return env.split(',').map((s) => Number(s.trim()));
  const random = Math.floor(Math.random() * 2 ** 31);
  console.log(`query differential: random seed ${random} (replay with STRATA_QUERY_SEEDS=${random})`);
  return [11, 22, 33, 44, 55, random];
}



async function compareOne(db: StrataDb, slice: NaiveEntity[], basis: number, q: QueryJson, label: string): Promise<void> {
  const expected = naiveQuery(slice, q);
  let actual;
  try {
    actual = await db.query('g', q, { at: basis });
  } catch (err) {
    assert.fail(`${label}: engine failed on ${JSON.stringify(q)}: ${String(err)}`);
  }
  assert.equal(actual.basis, basis);
  assert.deepEqual(actual.columns, expected.columns, `${label}: columns of ${JSON.stringify(q)}`);
  assert.deepEqual(actual.rows, expected.rows, `${label}: rows of ${JSON.stringify(q)} at ${basis}`);
}

for (const seed of seeds()) {
  test(`engine and naive evaluator agree on random queries at random offsets (seed ${seed})`, async () => {
    await withDb(async (db) => {
      const last = await publishRandomGraph(db, 'g', seed, TX_COUNT);
      const rng = new Rng(seed ^ 0x51ce);
      const gen = new QueryGen(new Rng(seed ^ 0x9e3));
      let nonEmpty = 0;
      for (let i = 0; i < OFFSETS_PER_SEED; i++) {
        const basis = i === 0 ? last : rng.int(last + 1);
        const slice = await listSlice(db, 'g', basis);
        const ids = slice.map((e) => e.id);
        for (let k = 0; k < QUERIES_PER_OFFSET; k++) {
          const q = gen.next(ids);
          await compareOne(db, slice, basis, q, `seed ${seed} query ${i}.${k}`);
          if (naiveQuery(slice, q).rows.length > 0) nonEmpty++;
        }
      }
      // A generator that only produced empty answers would prove nothing.
      assert.ok(nonEmpty > (OFFSETS_PER_SEED * QUERIES_PER_OFFSET) / 4, `only ${nonEmpty} queries had answers`);
    });
  });
}
