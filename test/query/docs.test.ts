// Every example of docs/query.md runs, in order, against a fresh server and prints exactly what the
// document shows (the same curl commands work against `npm start` on a fresh data directory).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { withApp } from '../api/helpers.js';
import { docExamples, runExample } from './docs-examples.js';

test('docs/query.md examples return what the document shows', async () => {
  const markdown = await readFile(new URL('../../../docs/query.md', import.meta.url), 'utf8');
  const examples = docExamples(markdown);
  assert.ok(examples.length >= 12, `only ${examples.length} examples found`);
  await withApp(async ({ app }) => {
    for (const ex of examples) {
      const printed = await runExample(app, ex);
      assert.equal(printed, ex.expected.trim(), `docs/query.md:${ex.line}: ${ex.method} ${ex.path}`);
    }
  });
});
