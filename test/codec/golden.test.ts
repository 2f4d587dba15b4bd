// Golden wire fixtures: the Avro bytes of a fixed transaction and report must not change silently.
// A failure here is a wire-format change; read test/fixtures/make-fixtures.ts before regenerating.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeTx, decodeTxReport, encodeTx, encodeTxReport, txSchemaFingerprint } from '../../src/codec/avro.js';
import { GOLDEN_REPORT, GOLDEN_TX, fixturesDir } from '../fixtures/make-fixtures.js';

const fixture = (name: string): Buffer => readFileSync(new URL(name, fixturesDir()));

test('transaction encodes byte for byte as test/fixtures/transaction.v1.bin', () => {
  assert.equal(encodeTx(GOLDEN_TX).toString('hex'), fixture('transaction.v1.bin').toString('hex'));
});

test('transaction.v1.bin decodes to the golden transaction', () => {
  assert.deepStrictEqual(decodeTx(fixture('transaction.v1.bin')), GOLDEN_TX);
});

test('tx report encodes byte for byte as test/fixtures/tx-report.v1.bin', () => {
  assert.equal(encodeTxReport(GOLDEN_REPORT).toString('hex'), fixture('tx-report.v1.bin').toString('hex'));
});

test('tx-report.v1.bin decodes to the golden report', () => {
  assert.deepStrictEqual(decodeTxReport(fixture('tx-report.v1.bin')), GOLDEN_REPORT);
});

test('the Transaction schema fingerprint is pinned (it changes only with the wire format)', () => {
  assert.equal(txSchemaFingerprint, '6c5c0db2f3a86f3cc1e55cbd55f0ab57f129530a3589e7048eee1de97492aeb4');
});
