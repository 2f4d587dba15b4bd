// The view ops were appended to the v1 unions (schemas/README.md, "Compatibility"): records written
// before them, kept byte for byte in test/fixtures/*.v1-before-views.bin, must still decode unchanged,
// also when they carry that schema's fingerprint in their `strata-schema` header.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import avro from 'avsc';
import { RecordDecodeError, checkTxSchemaHeader, decodeTx, decodeTxReport, txReportSchemaFingerprint, txSchemaFingerprint } from '../../src/codec/avro.js';
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

test('the strata-schema header: the current fingerprint, the one before the view ops, or none is read; any other is undecodable', () => {
  // The Transaction schema as it was before the view ops (git 635b9bb), which wrote the fixture above.
  const before = avro.Type.forSchema(JSON.parse(readFileSync(new URL('transaction.v1-before-views.avsc', fixturesDir()), 'utf8')) as avro.Schema, { wrapUnions: true });
  const beforeViews = before.fingerprint('sha256').toString('hex');
  assert.notEqual(beforeViews, txSchemaFingerprint);
  for (const fingerprint of [undefined, txSchemaFingerprint, beforeViews]) assert.doesNotThrow(() => checkTxSchemaHeader(fingerprint), String(fingerprint));
  for (const fingerprint of ['', 'ab12', txReportSchemaFingerprint, txSchemaFingerprint.toUpperCase(), `${txSchemaFingerprint} `]) {
    assert.throws(() => checkTxSchemaHeader(fingerprint), (err: unknown) => err instanceof RecordDecodeError && /does not read/.test(err.message), JSON.stringify(fingerprint));
  }
});
