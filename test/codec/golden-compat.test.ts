// The view ops were appended to the v1 unions (schemas/README.md, "Compatibility"): records written
// before them, kept byte for byte in test/fixtures/*.v1-before-views.bin, must still decode unchanged.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeTx, decodeTxReport } from '../../src/codec/avro.js';
import { GOLDEN_REPORT, GOLDEN_TX, fixturesDir } from '../fixtures/make-fixtures.js';

const fixture = (name: string): Buffer => readFileSync(new URL(name, fixturesDir()));
const withoutViews = <T extends { op: string } | { kind: string }>(items: T[]): T[] =>
  items.filter((x) => !('op' in x && (x.op === 'defineView' || x.op === 'retireView')) && !('view' in x));

test('a transaction written before the view ops decodes as it did', () => {
  assert.deepStrictEqual(decodeTx(fixture('transaction.v1-before-views.bin')), { ...GOLDEN_TX, ops: withoutViews(GOLDEN_TX.ops) });
});

test('a tx report written before the view change decodes as it did', () => {
  assert.deepStrictEqual(decodeTxReport(fixture('tx-report.v1-before-views.bin')), { ...GOLDEN_REPORT, changes: withoutViews(GOLDEN_REPORT.changes) });
});
