// The key builders fill one buffer each for speed; this checks them byte for byte against a naive
// concatenation written from the grammar at the top of src/store/keys.ts, at edge-case offsets
// (32-bit boundaries, 2^53-1) and with multi-byte ids and escaped values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Value } from '../../src/core/types.js';
import * as K from '../../src/store/keys.js';

const MAX = 0xffffffffffffffffn;
const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const desc64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(MAX - BigInt(n));
  return b;
};
const str = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const tag = (c: string): Buffer => Buffer.from(c, 'latin1');

const ids = ['', 'a', 'é漢字', 'x'.repeat(300), '🚀id', 'o:123'];
const offsets = [0, 1, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 53 - 1, 123_456_789_012];
const values: Value[] = [
  { t: 's', v: 'hi' }, { t: 's', v: 'a\u0000b' }, { t: 'n', v: -1.5 }, { t: 'n', v: 0 }, { t: 'l', v: '9007199254740993' },
  { t: 'b', v: true }, { t: 'y', v: 'AAEC' }, { t: 'j', v: '{"a":1}' }, { t: 'i', v: 5 },
];

test('offset keys match the grammar and desc64 reads back', () => {
  for (const o of offsets) {
    assert.deepEqual(K.u64(o), u64(o));
    assert.deepEqual(K.desc64(o), desc64(o));
    assert.equal(K.readDesc64(K.desc64(o), 0), o);
    assert.deepEqual(K.txKey(o), Buffer.concat([tag('t'), u64(o)]));
    assert.deepEqual(K.timeKey(o, 7), Buffer.concat([tag('w'), u64(o), u64(7)]));
  }
  assert.deepEqual(K.u64(2n ** 64n - 1n), Buffer.alloc(8, 0xff));
});

test('entity, adjacency, type and value keys match the grammar', () => {
  let compared = 0;
  for (const a of ids) {
    assert.deepEqual(K.str(a), str(a));
    assert.deepEqual(K.currentKey(a), Buffer.concat([tag('c'), Buffer.from(a, 'utf8')]));
    for (const o of offsets) assert.deepEqual(K.entityVersionKey(a, o), Buffer.concat([tag('e'), str(a), desc64(o)]));
    for (const b of ids) {
      assert.deepEqual(K.outKey(a, b), Buffer.concat([tag('o'), str(a), str(b)]));
      assert.deepEqual(K.inKey(a, b), Buffer.concat([tag('i'), str(a), str(b)]));
      assert.deepEqual(K.typeKey(a, b), Buffer.concat([tag('y'), str(a), str(b)]));
      for (const v of values) {
        for (const o of offsets) {
          assert.deepEqual(K.attrValueKey(a, v, b, o), Buffer.concat([tag('v'), str(a), K.encodeValue(v), str(b), desc64(o)]));
          compared++;
        }
      }
    }
  }
  assert.equal(compared, ids.length * ids.length * values.length * offsets.length);
});
