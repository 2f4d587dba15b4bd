// ReportFanout against the naive rule it replaces: a listener with an id interest is called for a
// report exactly when some change names one of its ids, every other listener for every report, each
// at most once per report; removal stops delivery. Seeded random subscriptions and reports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Change, TxReport } from '../../src/core/types.js';
import { ReportFanout, type ReportListener } from '../../src/db/report-fanout.js';
import { mulberry32 } from '../reference/generator.js';

function report(offset: number, ids: string[]): TxReport {
  const changes: Change[] = ids.map((id) => ({ kind: 'set', id, attr: 'a', old: null, new: { t: 'n', v: offset } }));
  // A schema change names no entity: it must not reach id-interested listeners by itself.
  changes.push({ kind: 'schema', attr: 'a', definition: { valueType: 'long', cardinality: 'one', unique: false } } as Change);
  return { offset, timeMs: 0, status: 'committed', id: null, meta: {}, ops: [], changes };
}

test('each listener gets exactly the reports its interest names, once, until removed', () => {
  const random = mulberry32(77);
  const pick = (n: number): string => `e${Math.floor(random() * n)}`;
  const fanout = new ReportFanout();
  const interests: (Set<string> | null)[] = [];
  const got: number[][] = [];
  const listeners: ReportListener[] = [];
  for (let i = 0; i < 60; i++) {
    const interest = i % 6 === 0 ? null : new Set(Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(30)));
    interests.push(interest);
    got.push([]);
    const listener: ReportListener = (r) => got[i]!.push(r.offset);
    listeners.push(listener);
    fanout.add(listener, interest);
  }
  assert.equal(fanout.size, 60);
  const expected: number[][] = interests.map(() => []);
  const removed = new Set<number>();
  for (let offset = 0; offset < 500; offset++) {
    if (offset === 250) for (let i = 0; i < 60; i += 3) {
      fanout.remove(listeners[i]!);
      removed.add(i);
    }
    const ids = Array.from({ length: Math.floor(random() * 4) }, () => pick(40));
    // Repeated ids in one report must still call a listener once.
    if (ids.length > 0 && random() < 0.3) ids.push(ids[0]!);
    const r = report(offset, ids);
    fanout.publish(r);
    interests.forEach((interest, i) => {
      if (removed.has(i)) return;
      if (interest === null || ids.some((id) => interest.has(id))) expected[i]!.push(offset);
    });
  }
  assert.equal(fanout.size, 40);
  assert.deepEqual(got, expected);
  assert.ok(expected.every((e, i) => interests[i] === null || e.length < 500), 'the interests are selective');
  assert.ok(expected.some((e, i) => interests[i] !== null && e.length > 0), 'some interested listener was called');
  for (const l of listeners) fanout.remove(l);
  assert.equal(fanout.size, 0);
});
