// Keeps docs/errors.md, the error registry (core/errors.ts) and the abort codes (core/types.ts) in sync.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ERRORS } from '../../src/core/errors.js';
import type { AbortCode } from '../../src/core/types.js';

// A Record over the AbortCode union: adding a code to the type without listing it here fails to compile.
const ABORT_CODES: Record<AbortCode, true> = {
  entity_exists: true,
  entity_not_found: true,
  entity_terminated: true,
  type_mismatch: true,
  cardinality_mismatch: true,
  unique_conflict: true,
  precondition_failed: true,
  required_missing: true,
  schema_conflict: true,
  duplicate_tx: true,
  invalid_record: true,
};

async function docSection(title: string): Promise<string[][]> {
  const url = new URL('../../../docs/errors.md', import.meta.url);
  const text = await readFile(url, 'utf8');
  const start = text.indexOf(`## ${title}`);
  assert.ok(start >= 0, `docs/errors.md has a "${title}" section`);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return section
    .split('\n')
    .filter((line) => /^\| `[a-z_]+` \|/.test(line))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

test('every registry code is documented once, with its status, and nothing else is', async () => {
  const rows = await docSection('Request errors');
  const documented = rows.map(([code]) => code?.replaceAll('`', ''));
  assert.deepEqual([...documented].sort(), Object.keys(ERRORS).sort());
  assert.equal(new Set(documented).size, documented.length, 'no code is documented twice');
  for (const [code, status] of rows) {
    const key = code?.replaceAll('`', '') as keyof typeof ERRORS;
    assert.equal(Number(status), ERRORS[key].status, `status of ${key}`);
  }
});

test('every abort code of DESIGN §3 is documented, and nothing else is', async () => {
  const rows = await docSection('Abort codes');
  const documented = rows.map(([code]) => code?.replaceAll('`', ''));
  assert.deepEqual([...documented].sort(), Object.keys(ABORT_CODES).sort());
});

test('every documented row has a meaning', async () => {
  for (const title of ['Request errors', 'Abort codes']) {
    for (const row of await docSection(title)) assert.ok((row.at(-1) ?? '').length > 10, `meaning of ${row[0]}`);
  }
});
