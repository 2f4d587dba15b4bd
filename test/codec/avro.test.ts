// The Avro codec: round trips of every op, value and change kind, and decodeTx's defence against
// whatever bytes a foreign Kafka producer may write (garbage, truncation, trailing bytes, limits).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RecordDecodeError,
  decodeTx,
  decodeTxReport,
  encodeTx,
  encodeTxReport,
  txReportSchemaFingerprint,
  txSchemaFingerprint,
} from '../../src/codec/avro.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/core/limits.js';
import type { Change, Op, TxInput, TxReport, Value, WireValue } from '../../src/core/types.js';
import { GOLDEN_TX } from '../fixtures/make-fixtures.js';

const tx = (ops: Op[], extra: Partial<TxInput> = {}): TxInput => ({ id: null, meta: {}, ops, ...extra });
const setOp = (value: WireValue): Op => ({ op: 'set', id: 'e1', attr: 'a', value });
const limits = (overrides: Partial<Limits>): Limits => ({ ...DEFAULT_LIMITS, ...overrides });

function assertDecodeError(buf: Buffer, pattern: RegExp, lim: Limits = DEFAULT_LIMITS): void {
  assert.throws(() => decodeTx(buf, lim), (err: unknown) => {
    assert.ok(err instanceof RecordDecodeError, `expected RecordDecodeError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

/** Deterministic PRNG (mulberry32) so a failing garbage case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('transaction round trips', () => {
  it('round-trips every op kind', () => {
    const kinds = new Set(GOLDEN_TX.ops.map((op) => op.op));
    assert.equal(kinds.size, 12);
    assert.deepStrictEqual(decodeTx(encodeTx(GOLDEN_TX)), GOLDEN_TX);
  });

  const values: [string, WireValue][] = [
    ['string', { t: 's', v: 'plain' }],
    ['empty string', { t: 's', v: '' }],
    ['unicode string', { t: 's', v: 'ünïcödé 日本語 🚀 a\u0301 \u0000 nul is fine in values' }],
    ['boolean false', { t: 'b', v: false }],
    ['double', { t: 'n', v: 1.5 }],
    ['double max', { t: 'n', v: Number.MAX_VALUE }],
    ['double -0', { t: 'n', v: -0 }],
    ['integral double stays a double', { t: 'n', v: 5 }],
    ['small long stays l', { t: 'l', v: '5' }],
    ['zero', { t: 'l', v: '0' }],
    ['2^53 + 1', { t: 'l', v: '9007199254740993' }],
    ['-(2^53 + 1)', { t: 'l', v: '-9007199254740993' }],
    ['int64 max', { t: 'l', v: '9223372036854775807' }],
    ['int64 min', { t: 'l', v: '-9223372036854775808' }],
    ['instant', { t: 'i', v: 1_700_000_000_123 }],
    ['instant before 1970', { t: 'i', v: -86_400_001 }],
    ['instant at the Date range end', { t: 'i', v: 8.64e15 }],
    ['bytes', { t: 'y', v: Buffer.from([0, 1, 2, 255, 254]).toString('base64') }],
    ['empty bytes', { t: 'y', v: '' }],
    ['json', { t: 'j', v: '{"a":[1,{"b":"ü"}],"z":null}' }],
  ];
  for (const [name, value] of values) {
    it(`round-trips a ${name} value`, () => {
      const input = tx([setOp(value)]);
      assert.deepStrictEqual(decodeTx(encodeTx(input)), input);
    });
  }

  it('round-trips expect values: null, one value, a set, an empty set', () => {
    const input = tx([
      { op: 'expect', id: 'e', attr: 'a', value: null },
      { op: 'expect', id: 'e', attr: 'a', value: { t: 'l', v: '-12345678901234567' } },
      { op: 'expect', id: 'e', attr: 'a', value: [{ t: 's', v: 'x' }, { t: 'y', v: 'AA==' }, { t: 'j', v: '[1]' }] },
      { op: 'expect', id: 'e', attr: 'a', value: [] },
    ]);
    assert.deepStrictEqual(decodeTx(encodeTx(input)), input);
  });

  it('round-trips ids, meta and the tx id with non-ASCII text', () => {
    const input = tx([{ op: 'create', id: 'ноды/𝔘𝔫𝔦', type: '型' }], {
      id: 'clé-🔑',
      meta: { author: 'Zoë', constructor: 'is just a key', 'k ✓': 'v' },
    });
    const back = decodeTx(encodeTx(input));
    assert.deepStrictEqual(back, input);
    assert.ok(Object.hasOwn(back.meta, 'constructor'));
  });

  it('canonicalizes JSON text written by a foreign producer (key order, whitespace)', () => {
    const back = decodeTx(encodeTx(tx([setOp({ t: 'j', v: '{ "b": 1, "a": {"d": [1, 2], "c": true} }' })])));
    assert.deepStrictEqual(back.ops[0], setOp({ t: 'j', v: '{"a":{"c":true,"d":[1,2]},"b":1}' }));
  });

  it('has hex SHA-256 fingerprints for the Kafka header', () => {
    assert.match(txSchemaFingerprint, /^[0-9a-f]{64}$/);
    assert.match(txReportSchemaFingerprint, /^[0-9a-f]{64}$/);
    assert.notEqual(txSchemaFingerprint, txReportSchemaFingerprint);
  });
});

describe('tx report round trips', () => {
  const base: TxReport = {
    offset: 12,
    timeMs: 1_700_000_000_000,
    status: 'committed',
    id: null,
    meta: { author: 'svc' },
    ops: [{ op: 'create', id: 'n1', type: 'T' }],
    changes: [],
  };

  it('round-trips a committed report without error or original offset (keys absent)', () => {
    const back = decodeTxReport(encodeTxReport(base));
    assert.deepStrictEqual(back, base);
    assert.ok(!('error' in back) && !('originalOffset' in back));
  });

  it('round-trips aborts: op index, null op, original offset', () => {
    const aborted: TxReport = { ...base, status: 'aborted', error: { code: 'entity_exists', message: 'n1 exists', op: 0 } };
    assert.deepStrictEqual(decodeTxReport(encodeTxReport(aborted)), aborted);
    const duplicate: TxReport = {
      ...base,
      status: 'aborted',
      id: 'key',
      error: { code: 'duplicate_tx', message: 'already committed', op: null },
      originalOffset: 3,
    };
    assert.deepStrictEqual(decodeTxReport(encodeTxReport(duplicate)), duplicate);
    const invalid: TxReport = { ...base, status: 'aborted', ops: [], error: { code: 'invalid_record', message: 'bad bytes', op: null } };
    assert.deepStrictEqual(decodeTxReport(encodeTxReport(invalid)), invalid);
  });

  it('round-trips every change kind', () => {
    const changes: Change[] = [
      { kind: 'created', id: 'n1', type: 'T', entity: 'node' },
      { kind: 'created', id: 'e1', type: 'E', entity: 'edge', from: 'n1', to: 'n2' },
      { kind: 'set', id: 'n1', attr: 'a', old: null, new: { t: 's', v: 'x' } },
      { kind: 'set', id: 'n1', attr: 'a', old: { t: 's', v: 'x' }, new: null },
      { kind: 'added', id: 'n1', attr: 'm', value: { t: 'b', v: true } },
      { kind: 'retracted', id: 'n1', attr: 'm', value: { t: 'j', v: '{"k":[]}' } },
      { kind: 'terminated', id: 'e1' },
      { kind: 'schema', attr: 'a', definition: { valueType: 'instant', cardinality: 'one', unique: true } },
      { kind: 'schema', attr: 'b', definition: null },
      { kind: 'schema', type: 'E', definition: { kind: 'edge', required: [] } },
      { kind: 'schema', type: 'F', definition: null },
    ];
    const report = { ...base, changes };
    assert.deepStrictEqual(decodeTxReport(encodeTxReport(report)), report);
  });

  it('round-trips canonical Values: safe integers as n, beyond 2^53 as l, -0 and fractions as doubles', () => {
    const values: Value[] = [
      { t: 'n', v: 42 },
      { t: 'n', v: -9007199254740991 },
      { t: 'n', v: -0 },
      { t: 'n', v: 0.1 },
      { t: 'n', v: 1e300 },
      { t: 'l', v: '9007199254740992' },
      { t: 'l', v: '-9223372036854775808' },
      { t: 'i', v: 0 },
      { t: 'y', v: '/+8=' },
    ];
    const changes: Change[] = values.map((value) => ({ kind: 'added', id: 'n', attr: 'a', value }));
    const report = { ...base, changes };
    assert.deepStrictEqual(decodeTxReport(encodeTxReport(report)), report);
  });

  it('normalizes a small l Value to n (Value keeps l for integers beyond 2^53 only)', () => {
    const report: TxReport = { ...base, changes: [{ kind: 'added', id: 'n', attr: 'a', value: { t: 'l', v: '7' } }] };
    const back = decodeTxReport(encodeTxReport(report));
    assert.deepStrictEqual(back.changes[0], { kind: 'added', id: 'n', attr: 'a', value: { t: 'n', v: 7 } });
  });

  it('rejects truncated and trailing report bytes with RecordDecodeError', () => {
    const buf = encodeTxReport(base);
    assert.throws(() => decodeTxReport(buf.subarray(0, buf.length - 1)), RecordDecodeError);
    assert.throws(() => decodeTxReport(Buffer.concat([buf, Buffer.from([0])])), RecordDecodeError);
  });
});

describe('decodeTx rejects malformed bytes', () => {
  const valid = encodeTx(GOLDEN_TX);

  it('rejects an empty buffer', () => {
    assertDecodeError(Buffer.alloc(0), /truncated/);
  });

  it('rejects every truncation of a valid record', () => {
    for (let length = 0; length < valid.length; length++) {
      assert.throws(() => decodeTx(valid.subarray(0, length)), RecordDecodeError, `prefix of ${length} bytes`);
    }
  });

  it('rejects trailing bytes', () => {
    assertDecodeError(Buffer.concat([valid, Buffer.from([0])]), /1 trailing bytes/);
    assertDecodeError(Buffer.concat([valid, valid]), /trailing bytes/);
  });

  it('rejects random garbage with RecordDecodeError only, and quickly', () => {
    const random = prng(20240601);
    const started = performance.now();
    for (let i = 0; i < 3_000; i++) {
      const buf = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
      try {
        decodeTx(buf);
      } catch (err) {
        assert.ok(err instanceof RecordDecodeError, `case ${i} (${buf.toString('hex')}): ${String(err)}`);
      }
    }
    assert.ok(performance.now() - started < 5_000, 'garbage must not make the decoder crawl');
  });

  it('rejects random single-byte corruptions of a valid record with RecordDecodeError or decodes them', () => {
    const random = prng(7);
    for (let i = 0; i < 2_000; i++) {
      const buf = Buffer.from(valid);
      buf[Math.floor(random() * buf.length)] = Math.floor(random() * 256);
      try {
        decodeTx(buf);
      } catch (err) {
        assert.ok(err instanceof RecordDecodeError, `case ${i}: ${String(err)}`);
      }
    }
  });

  it('rejects an ops count larger than the bytes left, without looping over it', () => {
    // id: null (0x00), meta: empty (0x00), ops: a block of 2^31 - 1 items (zigzag varint), then nothing.
    const started = performance.now();
    assertDecodeError(Buffer.from([0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, 0x0f]), /block of 2147483647 items/);
    assertDecodeError(Buffer.from([0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /block of/);
    assert.ok(performance.now() - started < 100);
  });

  it('rejects a negative block count whose byte size is missing or bogus', () => {
    assertDecodeError(Buffer.from([0x00, 0x00, 0x01]), /truncated/);
    assertDecodeError(Buffer.from([0x00, 0x00, 0x01, 0x01]), /block size -1/);
  });

  it('rejects an out-of-range union branch', () => {
    assertDecodeError(Buffer.from([0x04, 0x00, 0x00]), /union branch 2 out of range 0\.\.1/);
    assertDecodeError(Buffer.from([0x01, 0x00, 0x00]), /union branch -1/);
  });

  it('rejects a varint longer than 10 bytes', () => {
    assertDecodeError(Buffer.from([0x00, 0x00, ...Array<number>(11).fill(0x80), 0x00]), /varint longer than 10 bytes/);
  });

  it('rejects invalid UTF-8 in a string', () => {
    // id: union branch 1 (string), length 1, byte 0xff.
    assertDecodeError(Buffer.from([0x02, 0x02, 0xff, 0x00, 0x00]), /not valid UTF-8/);
  });

  it('rejects a string length beyond the buffer', () => {
    assertDecodeError(Buffer.from([0x02, 0x7e, 0x61]), /string length 63 out of range/);
  });

  it('rejects a boolean byte other than 0 or 1', () => {
    const buf = encodeTx(tx([{ op: 'defineAttr', attr: 'a', valueType: 'long', cardinality: 'one', unique: true }]));
    assert.equal(buf[buf.length - 2], 1, 'the unique flag sits before the array terminator');
    buf[buf.length - 2] = 2;
    assertDecodeError(buf, /boolean byte/);
  });

  it('rejects an out-of-range enum symbol', () => {
    const buf = encodeTx(tx([{ op: 'defineType', type: 'T', kind: 'node', required: [] }]));
    // ... kind enum index (0) then the empty required array (0) then the ops terminator (0).
    assert.equal(buf[buf.length - 3], 0);
    buf[buf.length - 3] = 4; // zigzag 2: EntityKind has 2 symbols
    assertDecodeError(buf, /enum index 2 out of range 0\.\.1/);
  });

  it('rejects the meta key __proto__ (avsc would drop it silently)', () => {
    const meta: Record<string, string> = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    const buf = encodeTx(tx([{ op: 'terminate', id: 'e' }], { meta }));
    assertDecodeError(buf, /__proto__/);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it('rejects a JsonValue that is not JSON, or is a scalar', () => {
    assertDecodeError(encodeTx(tx([setOp({ t: 'j', v: '{not json' })])), /not valid JSON/);
    assertDecodeError(encodeTx(tx([setOp({ t: 'j', v: '"scalar"' })])), /array or object/);
  });

  it('rejects JSON nested deeper than the limit without overflowing the stack', () => {
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    assertDecodeError(encodeTx(tx([setOp({ t: 'j', v: deep })])), /nest at most/);
  });

  it('rejects non-finite doubles and instants outside the Date range', () => {
    assertDecodeError(encodeTx(tx([setOp({ t: 'n', v: Number.NaN })])), /invalid_value: .*finite/);
    assertDecodeError(encodeTx(tx([setOp({ t: 'n', v: Number.POSITIVE_INFINITY })])), /finite/);
    assertDecodeError(encodeTx(tx([setOp({ t: 'i', v: 8.64e15 + 1 })])), /date range/);
    assertDecodeError(encodeTx(tx([setOp({ t: 'i', v: 2 ** 60 })])), /beyond 2\^53/);
  });
});

describe('decodeTx enforces the static rules and limits', () => {
  it('rejects a transaction without ops', () => {
    assertDecodeError(encodeTx(tx([])), /invalid_request: a transaction needs at least one op/);
  });

  it('rejects more ops than opsPerTxMax', () => {
    const ops: Op[] = Array.from({ length: 4 }, (_, i) => ({ op: 'terminate', id: `e${i}` }));
    assertDecodeError(encodeTx(tx(ops)), /too_many_ops/, limits({ opsPerTxMax: 3 }));
    assert.equal(decodeTx(encodeTx(tx(ops)), limits({ opsPerTxMax: 4 })).ops.length, 4);
  });

  it('decodes the largest allowed transaction (10,000 ops) in reasonable time', () => {
    const ops: Op[] = Array.from({ length: DEFAULT_LIMITS.opsPerTxMax }, (_, i) => setOp({ t: 'l', v: String(i) }));
    const started = performance.now();
    assert.equal(decodeTx(encodeTx(tx(ops))).ops.length, DEFAULT_LIMITS.opsPerTxMax);
    assert.ok(performance.now() - started < 2_000);
  });

  it('rejects a record larger than txBodyBytesMax', () => {
    const buf = encodeTx(tx([setOp({ t: 's', v: 'x'.repeat(200) })]));
    assertDecodeError(buf, /exceeds the 100-byte limit/, limits({ txBodyBytesMax: 100 }));
  });

  it('rejects bad ids, names and endpoints with the op index', () => {
    const cases: [Op, RegExp][] = [
      [{ op: 'create', id: '', type: 'T' }, /invalid_id: op 1: "id" is empty/],
      [{ op: 'create', id: 'a\u0000b', type: 'T' }, /invalid_id: op 1: "id" contains a control character/],
      [{ op: 'create', id: 'x'.repeat(257), type: 'T' }, /longer than 256/],
      [{ op: 'create', id: 'ok', type: 'T\u009f' }, /"type" contains a control character/],
      [{ op: 'link', id: 'l', type: 'E', from: 'a', to: '\u007f' }, /"to" contains a control character/],
      [{ op: 'unset', id: 'e', attr: '' }, /"attr" is empty/],
      [{ op: 'defineType', type: 'T', kind: 'node', required: ['ok', ''] }, /"required" is empty/],
    ];
    for (const [bad, pattern] of cases) {
      assertDecodeError(encodeTx(tx([{ op: 'terminate', id: 'fine' }, bad])), pattern);
    }
  });

  it('rejects values larger than valueBytesMax', () => {
    const small = limits({ valueBytesMax: 8 });
    assertDecodeError(encodeTx(tx([setOp({ t: 's', v: 'ü'.repeat(5) })])), /10 bytes, more than 8/, small);
    assertDecodeError(encodeTx(tx([setOp({ t: 'y', v: Buffer.alloc(9).toString('base64') })])), /9 bytes/, small);
    assertDecodeError(encodeTx(tx([setOp({ t: 'j', v: '[1,2,3,4,5]' })])), /11 bytes/, small);
    assert.equal(decodeTx(encodeTx(tx([setOp({ t: 's', v: 'ü'.repeat(4) })])), small).ops.length, 1);
  });

  it('rejects a bad tx id and meta', () => {
    assertDecodeError(encodeTx(tx([{ op: 'terminate', id: 'e' }], { id: 'k'.repeat(129) })), /invalid_id: "id" is longer than 128/);
    const meta = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    assertDecodeError(encodeTx(tx([{ op: 'terminate', id: 'e' }], { meta })), /more than 32 entries/);
    assertDecodeError(encodeTx(tx([{ op: 'terminate', id: 'e' }], { meta: { k: 'v'.repeat(1025) } })), /at most 1024 chars/);
  });
});
