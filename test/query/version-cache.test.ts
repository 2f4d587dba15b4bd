// The past-version cache (query/version-cache.ts): bounded by approximate bytes with CLOCK eviction, and
// used by reads as of past offsets so that a repeated one costs no RocksDB get.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VersionCache } from '../../src/query/version-cache.js';
import { Store } from '../../src/store/rocks.js';
import type { StoredVersion } from '../../src/store/records.js';
import { versionBytes } from '../../src/store/sizes.js';
import { openStrata } from '../../src/strata.js';

function version(id: string, offset: number, name: string): StoredVersion {
  return {
    entity: { id, kind: 'node', type: 'Customer', createdAt: 0, terminatedAt: null, attrs: new Map([['name', [{ t: 's', v: name }]]]) },
    offset,
    timeMs: 1_700_000_000_000 + offset,
    changes: [],
  } as StoredVersion;
}

test('versions are found by (id, offset) only, ids with slashes and digits included', () => {
  const cache = new VersionCache(1 << 20);
  const a = version('1/2', 3, 'a');
  const b = version('2', 13, 'b');
  cache.set('1/2', 3, a);
  cache.set('2', 13, b);
  assert.equal(cache.get('1/2', 3), a);
  assert.equal(cache.get('2', 13), b);
  assert.equal(cache.get('2', 3), undefined); // "3/2" ≠ "13/2"'s parts
  assert.equal(cache.get('3/2', 1), undefined);
  assert.equal(cache.get('1/2', 13), undefined);
});

test('the accounted bytes stay within the bound; entries read since the last pass get a second chance', () => {
  const one = versionBytes(version('cust-00000', 0, 'x'.repeat(100)));
  const bytesMax = 40 * (one + 200);
  const cache = new VersionCache(bytesMax);
  cache.set('cust-hot', 0, version('cust-hot', 0, 'x'.repeat(100)));
  for (let i = 1; i <= 1_000; i++) {
    cache.set(`cust-${String(i).padStart(5, '0')}`, i, version(`cust-${String(i).padStart(5, '0')}`, i, 'x'.repeat(100)));
    assert.ok(cache.get('cust-hot', 0), `the entry read all along was evicted at ${i}`);
    const { bytes } = cache.stats();
    assert.ok(bytes <= bytesMax, `${bytes} > ${bytesMax} after ${i} versions`);
  }
  const { entries } = cache.stats();
  assert.ok(entries >= 20 && entries <= 60, `${entries} entries`);
  assert.ok(cache.get('cust-01000', 1_000), 'the youngest entry is kept');
  assert.equal(cache.get('cust-00001', 1), undefined, 'the oldest unread entries go first');
});

test('a version larger than an eighth of the budget is not kept', () => {
  const big = version('big', 1, 'y'.repeat(10_000));
  const cache = new VersionCache(8 * 5_000);
  cache.set('big', 1, big);
  assert.equal(cache.get('big', 1), undefined);
  assert.equal(cache.stats().bytes, 0);
});

test('a repeated read as of a past offset is answered without a RocksDB get, with the same view', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-vc-'));
  const db = await openStrata({ dataDir });
  const gets = { n: 0 };
  const original = Store.prototype.get;
  Store.prototype.get = function counted(this: Store, key: Buffer) {
    gets.n++;
    return original.call(this, key);
  };
  try {
    const g = 'vc';
    await db.createGraph(g);
    const offsets: number[] = [];
    const wait = { wait: true, timeoutMs: 10_000 };
    const name = (v: string) => ({ op: 'set' as const, id: 'c/1', attr: 'name', value: { t: 's' as const, v } });
    offsets.push((await db.transact(g, { id: null, meta: {}, ops: [{ op: 'create', id: 'c/1', type: 'Customer' }, name('v0')] }, wait)).offset);
    for (let i = 1; i <= 5; i++) offsets.push((await db.transact(g, { id: null, meta: {}, ops: [name(`v${i}`)] }, wait)).offset);
    for (let i = 0; i < offsets.length; i++) {
      const cold = gets.n;
      const first = await db.entity(g, 'c/1', offsets[i]!);
      // The latest version is in the read cache; each older one is read from RocksDB once.
      assert.equal(gets.n - cold, i < offsets.length - 1 ? 1 : 0, `gets for the first read at ${offsets[i]}`);
      const before = gets.n;
      const again = await db.entity(g, 'c/1', offsets[i]!);
      assert.equal(gets.n, before, `the read at ${offsets[i]} went to RocksDB again`);
      assert.deepEqual(again, first);
      assert.equal(again?.attrs['name'], `v${i}`);
    }
  } finally {
    Store.prototype.get = original;
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
