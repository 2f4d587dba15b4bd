// The HTTP JSON edge: parseTxJson's static validation (each error code with its op index and field),
// JSON ↔ value forms, the output shapes of ops, changes and reports, and prototype-pollution keys.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  JSON_DEPTH_MAX,
  canonicalJson,
  changeToJson,
  opToJson,
  parseIsoInstant,
  parseTxJson,
  parseValueJson,
  parseWhereValue,
  reportToJson,
  valueToJson,
  wireValueToJson,
} from '../../src/codec/json.js';
import { StrataError, type ErrorCode } from '../../src/core/errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/core/limits.js';
import type { TxInput, TxReport, WireValue } from '../../src/core/types.js';

const L = DEFAULT_LIMITS;
const limits = (overrides: Partial<Limits>): Limits => ({ ...DEFAULT_LIMITS, ...overrides });

/** The body of DESIGN §3, verbatim. */
const DESIGN_BODY = {
  id: 'optional client idempotency key (≤128 chars)',
  meta: { author: 'svc-orders', reason: 'order placed' },
  ops: [
    { op: 'defineAttr', attr: 'tags', valueType: 'string', cardinality: 'many', unique: false },
    { op: 'defineType', type: 'Order', kind: 'node', required: ['status'] },
    { op: 'create', id: 'order-42', type: 'Order' },
    { op: 'set', id: 'order-42', attr: 'status', value: 'open' },
    { op: 'link', id: 'placed-42', type: 'placedBy', from: 'order-42', to: 'cust-7' },
    { op: 'add', id: 'order-42', attr: 'tags', value: 'rush' },
    { op: 'retract', id: 'order-42', attr: 'tags', value: 'rush' },
    { op: 'unset', id: 'order-42', attr: 'note' },
    { op: 'expect', id: 'order-42', attr: 'status', value: 'open' },
    { op: 'terminate', id: 'placed-42' },
  ],
};

const DESIGN_TX: TxInput = {
  id: 'optional client idempotency key (≤128 chars)',
  meta: { author: 'svc-orders', reason: 'order placed' },
  ops: [
    { op: 'defineAttr', attr: 'tags', valueType: 'string', cardinality: 'many', unique: false },
    { op: 'defineType', type: 'Order', kind: 'node', required: ['status'] },
    { op: 'create', id: 'order-42', type: 'Order' },
    { op: 'set', id: 'order-42', attr: 'status', value: { t: 's', v: 'open' } },
    { op: 'link', id: 'placed-42', type: 'placedBy', from: 'order-42', to: 'cust-7' },
    { op: 'add', id: 'order-42', attr: 'tags', value: { t: 's', v: 'rush' } },
    { op: 'retract', id: 'order-42', attr: 'tags', value: { t: 's', v: 'rush' } },
    { op: 'unset', id: 'order-42', attr: 'note' },
    { op: 'expect', id: 'order-42', attr: 'status', value: { t: 's', v: 'open' } },
    { op: 'terminate', id: 'placed-42' },
  ],
};

function expectError(fn: () => unknown, code: ErrorCode, details?: Record<string, unknown>): StrataError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof StrataError, `expected StrataError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (details !== undefined) assert.deepStrictEqual(caught.details, details);
  return caught;
}

/** A body whose op at index 1 is `op` (op 0 is always valid, so the index is checked). */
const withOp = (op: unknown): unknown => ({ ops: [{ op: 'terminate', id: 'fine' }, op] });
const setValue = (value: unknown): unknown => withOp({ op: 'set', id: 'e', attr: 'a', value });
const parseValue = (value: unknown): WireValue => {
  const op = parseTxJson({ ops: [{ op: 'set', id: 'e', attr: 'a', value }] }, L).ops[0];
  assert.ok(op !== undefined && op.op === 'set');
  return op.value;
};

describe('parseTxJson accepts', () => {
  it('the DESIGN §3 example body', () => {
    assert.deepStrictEqual(parseTxJson(DESIGN_BODY, L), DESIGN_TX);
  });

  it('a body without id and meta', () => {
    assert.deepStrictEqual(parseTxJson({ ops: [{ op: 'terminate', id: 'x' }] }, L), {
      id: null,
      meta: {},
      ops: [{ op: 'terminate', id: 'x' }],
    });
  });

  it('defaults: cardinality one, unique false, kind node, required []', () => {
    const tx = parseTxJson(
      {
        ops: [
          { op: 'defineAttr', attr: 'a', valueType: 'json' },
          { op: 'defineType', type: 'T' },
          { op: 'defineAttr', attr: 'b', valueType: 'long', cardinality: null, unique: null },
        ],
      },
      L,
    );
    assert.deepStrictEqual(tx.ops, [
      { op: 'defineAttr', attr: 'a', valueType: 'json', cardinality: 'one', unique: false },
      { op: 'defineType', type: 'T', kind: 'node', required: [] },
      { op: 'defineAttr', attr: 'b', valueType: 'long', cardinality: 'one', unique: false },
    ]);
  });

  it('expect with null, one value, a set and an empty set', () => {
    const ops = parseTxJson(
      {
        ops: [
          { op: 'expect', id: 'e', attr: 'a', value: null },
          { op: 'expect', id: 'e', attr: 'a', value: 3 },
          { op: 'expect', id: 'e', attr: 'a', value: ['x', { $long: '9007199254740993' }, [1]] },
          { op: 'expect', id: 'e', attr: 'a', value: [] },
        ],
      },
      L,
    ).ops;
    assert.deepStrictEqual(
      ops.map((op) => (op.op === 'expect' ? op.value : undefined)),
      [null, { t: 'l', v: '3' }, [{ t: 's', v: 'x' }, { t: 'l', v: '9007199254740993' }, { t: 'j', v: '[1]' }], []],
    );
  });

  it('ids of exactly 256 chars, counting code points (256 emoji are 512 UTF-16 units)', () => {
    const emoji = '😀'.repeat(256);
    const tx = parseTxJson({ ops: [{ op: 'create', id: emoji, type: 'x'.repeat(256) }] }, L);
    assert.equal(tx.ops.length, 1);
    expectError(() => parseTxJson({ ops: [{ op: 'create', id: emoji + 'x', type: 'T' }] }, L), 'invalid_id');
  });

  it('exactly opsPerTxMax ops', () => {
    const ops = Array.from({ length: 3 }, (_, i) => ({ op: 'terminate', id: `e${i}` }));
    assert.equal(parseTxJson({ ops }, limits({ opsPerTxMax: 3 })).ops.length, 3);
  });
});

describe('parseTxJson rejects', () => {
  it('bodies that are not objects, with invalid_request', () => {
    for (const body of [null, undefined, [], 'tx', 42, true, new Date(0)]) {
      expectError(() => parseTxJson(body, L), 'invalid_request');
    }
  });

  it('unknown top-level fields, missing or non-array ops, empty ops', () => {
    expectError(() => parseTxJson({ ops: [{ op: 'terminate', id: 'x' }], extra: 1 }, L), 'invalid_request', { field: 'extra' });
    expectError(() => parseTxJson({}, L), 'invalid_request', { field: 'ops' });
    expectError(() => parseTxJson({ ops: { 0: {} } }, L), 'invalid_request', { field: 'ops' });
    const err = expectError(() => parseTxJson({ ops: [] }, L), 'invalid_request', { field: 'ops' });
    assert.match(err.message, /at least one op/);
  });

  it('more ops than opsPerTxMax, with too_many_ops', () => {
    const ops = Array.from({ length: 4 }, (_, i) => ({ op: 'terminate', id: `e${i}` }));
    expectError(() => parseTxJson({ ops }, limits({ opsPerTxMax: 3 })), 'too_many_ops');
  });

  it('ops that are not objects', () => {
    for (const op of [null, 'create', 3, ['op']]) expectError(() => parseTxJson(withOp(op), L), 'invalid_op', { op: 1, field: 'op' });
  });

  it('unknown op names, including prototype member names', () => {
    for (const name of ['upsert', 'Create', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 42, null]) {
      expectError(() => parseTxJson(withOp({ op: name, id: 'e' }), L), 'invalid_op', { op: 1, field: 'op' });
    }
    expectError(() => parseTxJson(withOp({ id: 'e' }), L), 'invalid_op', { op: 1, field: 'op' });
  });

  it('missing and extra fields', () => {
    expectError(() => parseTxJson(withOp({ op: 'create', id: 'e' }), L), 'invalid_op', { op: 1, field: 'type' });
    expectError(() => parseTxJson(withOp({ op: 'link', id: 'l', type: 'E', from: 'a' }), L), 'invalid_op', { op: 1, field: 'to' });
    expectError(() => parseTxJson(withOp({ op: 'expect', id: 'e', attr: 'a' }), L), 'invalid_op', { op: 1, field: 'value' });
    expectError(() => parseTxJson(withOp({ op: 'set', id: 'e', attr: 'a' }), L), 'invalid_op', { op: 1, field: 'value' });
    expectError(() => parseTxJson(withOp({ op: 'defineAttr', attr: 'a' }), L), 'invalid_op', { op: 1, field: 'valueType' });
    expectError(() => parseTxJson(withOp({ op: 'terminate', id: 'e', type: 'T' }), L), 'invalid_op', { op: 1, field: 'type' });
    expectError(() => parseTxJson(withOp({ op: 'unset', id: 'e', attr: 'a', value: 1 }), L), 'invalid_op', { op: 1, field: 'value' });
  });

  it('fields of the wrong type', () => {
    const cases: [unknown, string][] = [
      [{ op: 'create', id: 42, type: 'T' }, 'id'],
      [{ op: 'create', id: 'e', type: null }, 'type'],
      [{ op: 'link', id: 'l', type: 'E', from: ['a'], to: 'b' }, 'from'],
      [{ op: 'set', id: 'e', attr: { a: 1 }, value: 1 }, 'attr'],
      [{ op: 'defineAttr', attr: 'a', valueType: 'int' }, 'valueType'],
      [{ op: 'defineAttr', attr: 'a', valueType: 'string', cardinality: 'several' }, 'cardinality'],
      [{ op: 'defineAttr', attr: 'a', valueType: 'string', unique: 'yes' }, 'unique'],
      [{ op: 'defineType', type: 'T', kind: 'vertex' }, 'kind'],
      [{ op: 'defineType', type: 'T', required: 'status' }, 'required'],
      [{ op: 'defineType', type: 'T', required: ['a', 1] }, 'required'],
    ];
    for (const [op, field] of cases) expectError(() => parseTxJson(withOp(op), L), 'invalid_op', { op: 1, field });
  });

  it('bad ids and names with invalid_id, naming the field', () => {
    const cases: [unknown, string][] = [
      [{ op: 'create', id: '', type: 'T' }, 'id'],
      [{ op: 'create', id: 'x'.repeat(257), type: 'T' }, 'id'],
      [{ op: 'create', id: 'a\u0000', type: 'T' }, 'id'],
      [{ op: 'create', id: 'a\nb', type: 'T' }, 'id'],
      [{ op: 'create', id: 'a\u001f', type: 'T' }, 'id'],
      [{ op: 'create', id: 'a\u007f', type: 'T' }, 'id'],
      [{ op: 'create', id: 'a\u0085', type: 'T' }, 'id'],
      [{ op: 'create', id: 'a\u009f', type: 'T' }, 'id'],
      [{ op: 'create', id: 'a\ud800', type: 'T' }, 'id'],
      [{ op: 'create', id: '\udc00a', type: 'T' }, 'id'],
      [{ op: 'create', id: 'e', type: '' }, 'type'],
      [{ op: 'link', id: 'l', type: 'E', from: '', to: 'b' }, 'from'],
      [{ op: 'link', id: 'l', type: 'E', from: 'a', to: 'b\t' }, 'to'],
      [{ op: 'unset', id: 'e', attr: 'x'.repeat(257) }, 'attr'],
      [{ op: 'defineAttr', attr: '', valueType: 'string' }, 'attr'],
      [{ op: 'defineType', type: 'T', required: ['ok', 'bad\u0000'] }, 'required'],
    ];
    for (const [op, field] of cases) expectError(() => parseTxJson(withOp(op), L), 'invalid_id', { op: 1, field });
  });

  it('accepts ids with other Unicode (not control characters), e.g. U+00A0 and U+2028', () => {
    assert.equal(parseTxJson({ ops: [{ op: 'create', id: 'a\u00a0b\u2028c/d%2F', type: 'T' }] }, L).ops.length, 1);
  });

  it('null values in set/add/retract, with a hint to use unset', () => {
    for (const op of ['set', 'add', 'retract']) {
      const err = expectError(() => parseTxJson(withOp({ op, id: 'e', attr: 'a', value: null }), L), 'invalid_value', { op: 1, field: 'value' });
      assert.match(err.message, /unset/);
    }
    expectError(() => parseTxJson(withOp({ op: 'expect', id: 'e', attr: 'a', value: ['x', null] }), L), 'invalid_value', { op: 1, field: 'value' });
  });

  it('malformed typed values', () => {
    const bad: unknown[] = [
      { $long: '1.5' },
      { $long: 'abc' },
      { $long: '' },
      { $long: '9223372036854775808' },
      { $long: '-9223372036854775809' },
      { $long: 12 },
      { $long: '1', extra: true },
      { $instant: 'yesterday' },
      { $instant: '2024-02-30T00:00:00Z' },
      { $instant: '2023-02-29' },
      { $instant: '2024-01-01T10:00:00' },
      { $instant: '2024-01-01T24:00:00Z' },
      { $instant: '2024-13-01T00:00:00Z' },
      { $instant: '2024-01-01T00:60:00Z' },
      { $instant: '2024-01-01T00:00:00+24:00' },
      { $instant: 'Mon, 01 Jan 2024 00:00:00 GMT' },
      { $instant: '+275761-01-01T00:00:00Z' },
      { $instant: 1700000000000 },
      { $bytes: '@@@@' },
      { $bytes: 'A' },
      { $bytes: 'AAA==' },
      { $bytes: 'AA AA' },
      { $bytes: null },
      Number.NaN,
      Number.POSITIVE_INFINITY,
      undefined,
      10n,
      new Date(0),
      new Map(),
      [undefined],
      { a: Number.NaN },
      Symbol('s'),
    ];
    for (const value of bad) {
      expectError(() => parseTxJson(setValue(value), L), 'invalid_value', { op: 1, field: 'value' });
    }
  });

  it('values larger than valueBytesMax (strings in UTF-8 bytes, bytes decoded, JSON as canonical text)', () => {
    const small = limits({ valueBytesMax: 8 });
    expectError(() => parseTxJson(setValue('ü'.repeat(5)), small), 'invalid_value', { op: 1, field: 'value' });
    expectError(() => parseTxJson(setValue({ $bytes: Buffer.alloc(9).toString('base64') }), small), 'invalid_value');
    expectError(() => parseTxJson(setValue([1, 2, 3, 4, 5]), small), 'invalid_value');
    assert.equal(parseTxJson(setValue('ü'.repeat(4)), small).ops.length, 2);
    assert.equal(parseTxJson(setValue({ $bytes: Buffer.alloc(8).toString('base64') }), small).ops.length, 2);
  });

  it('JSON values nested deeper than JSON_DEPTH_MAX', () => {
    let deep: unknown = 1;
    for (let i = 0; i <= JSON_DEPTH_MAX + 1; i++) deep = [deep];
    expectError(() => parseTxJson(setValue(deep), L), 'invalid_value', { op: 1, field: 'value' });
    let ok: unknown = 1;
    for (let i = 0; i < JSON_DEPTH_MAX; i++) ok = [ok];
    assert.equal(parseTxJson(setValue(ok), L).ops.length, 2);
  });

  it('bad tx ids', () => {
    expectError(() => parseTxJson({ id: 7, ops: [{ op: 'terminate', id: 'e' }] }, L), 'invalid_request', { field: 'id' });
    expectError(() => parseTxJson({ id: '', ops: [{ op: 'terminate', id: 'e' }] }, L), 'invalid_id', { field: 'id' });
    expectError(() => parseTxJson({ id: 'k'.repeat(129), ops: [{ op: 'terminate', id: 'e' }] }, L), 'invalid_id', { field: 'id' });
    expectError(() => parseTxJson({ id: 'k\u0000', ops: [{ op: 'terminate', id: 'e' }] }, L), 'invalid_id', { field: 'id' });
    assert.equal(parseTxJson({ id: 'k'.repeat(128), ops: [{ op: 'terminate', id: 'e' }] }, L).id, 'k'.repeat(128));
  });

  it('bad meta', () => {
    const op = [{ op: 'terminate', id: 'e' }];
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    for (const meta of [[], 'x', { a: 1 }, { a: null }, many, { a: 'v'.repeat(1025) }, { '': 'v' }, { 'a\nb': 'v' }]) {
      expectError(() => parseTxJson({ meta, ops: op }, L), 'invalid_request');
    }
    const full = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v'.repeat(1024)]));
    assert.equal(Object.keys(parseTxJson({ meta: full, ops: op }, L).meta).length, 32);
    assert.deepStrictEqual(parseTxJson({ meta: { note: 'multi\nline' }, ops: op }, L).meta, { note: 'multi\nline' });
  });

  it('reports the first failing op, in order', () => {
    const body = {
      ops: [
        { op: 'create', id: 'a', type: 'T' },
        { op: 'create', id: 'b', type: 'T' },
        { op: 'create', id: '', type: 'T' },
        { op: 'nope' },
      ],
    };
    expectError(() => parseTxJson(body, L), 'invalid_id', { op: 2, field: 'id' });
  });
});

describe('JSON values to wire values', () => {
  const cases: [string, unknown, WireValue][] = [
    ['string', 'open', { t: 's', v: 'open' }],
    ['boolean', false, { t: 'b', v: false }],
    ['safe integer', 42, { t: 'l', v: '42' }],
    ['negative integer', -7, { t: 'l', v: '-7' }],
    ['-0', -0, { t: 'l', v: '0' }],
    ['max safe integer', Number.MAX_SAFE_INTEGER, { t: 'l', v: '9007199254740991' }],
    ['2^53 is not safe: a double', 2 ** 53, { t: 'n', v: 2 ** 53 }],
    ['fraction', 1.25, { t: 'n', v: 1.25 }],
    ['$long', { $long: '-123' }, { t: 'l', v: '-123' }],
    ['$long beyond 2^53', { $long: '9223372036854775807' }, { t: 'l', v: '9223372036854775807' }],
    ['$long canonicalized', { $long: '007' }, { t: 'l', v: '7' }],
    ['$long -0', { $long: '-0' }, { t: 'l', v: '0' }],
    ['$instant Z', { $instant: '2024-03-01T12:34:56.789Z' }, { t: 'i', v: Date.UTC(2024, 2, 1, 12, 34, 56, 789) }],
    ['$instant offset', { $instant: '2024-03-01T12:34:56+02:00' }, { t: 'i', v: Date.UTC(2024, 2, 1, 10, 34, 56) }],
    ['$instant basic offset', { $instant: '2024-03-01T12:34:56-0130' }, { t: 'i', v: Date.UTC(2024, 2, 1, 14, 4, 56) }],
    ['$instant minutes only', { $instant: '2024-03-01T12:34Z' }, { t: 'i', v: Date.UTC(2024, 2, 1, 12, 34) }],
    ['$instant date', { $instant: '2024-02-29' }, { t: 'i', v: Date.UTC(2024, 1, 29) }],
    ['$instant microseconds truncated', { $instant: '1970-01-01T00:00:00.123999Z' }, { t: 'i', v: 123 }],
    ['$instant before 1970', { $instant: '1969-12-31T23:59:59.999Z' }, { t: 'i', v: -1 }],
    ['$instant year 0050 (not 1950)', { $instant: '0050-01-01T00:00:00Z' }, { t: 'i', v: -60589296000000 }],
    ['$instant extended year', { $instant: '+275760-09-13T00:00:00.000Z' }, { t: 'i', v: 8.64e15 }],
    ['$instant lowercase', { $instant: '2024-03-01t00:00:00z' }, { t: 'i', v: Date.UTC(2024, 2, 1) }],
    ['$bytes', { $bytes: 'AAEC/w==' }, { t: 'y', v: 'AAEC/w==' }],
    ['$bytes unpadded', { $bytes: 'AAEC/w' }, { t: 'y', v: 'AAEC/w==' }],
    ['$bytes url-safe', { $bytes: 'AAEC_w' }, { t: 'y', v: 'AAEC/w==' }],
    ['$bytes empty', { $bytes: '' }, { t: 'y', v: '' }],
    ['array', [3, 'a', null, { b: 1 }], { t: 'j', v: '[3,"a",null,{"b":1}]' }],
    ['object, keys sorted recursively', { z: 1, a: { d: [{ y: 1, x: 2 }], c: null } }, { t: 'j', v: '{"a":{"c":null,"d":[{"x":2,"y":1}]},"z":1}' }],
    ['object with another $ key', { $ref: '#/a' }, { t: 'j', v: '{"$ref":"#/a"}' }],
    ['empty object', {}, { t: 'j', v: '{}' }],
  ];
  for (const [name, json, wire] of cases) {
    it(name, () => assert.deepStrictEqual(parseValue(json), wire));
  }

  it('parseValueJson converts one value outside a transaction', () => {
    assert.deepStrictEqual(parseValueJson({ $long: '5' }, L), { t: 'l', v: '5' });
    expectError(() => parseValueJson(null, L), 'invalid_value', { field: 'value' });
  });

  it('parseIsoInstant agrees with Date for ordinary instants', () => {
    for (const iso of ['2000-01-01T00:00:00.000Z', '2038-01-19T03:14:07.999Z', '1901-12-13T20:45:52.001Z']) {
      assert.equal(parseIsoInstant(iso), Date.parse(iso));
    }
  });
});

describe('output forms', () => {
  it('valueToJson: every kind', () => {
    assert.equal(valueToJson({ t: 's', v: 'x' }), 'x');
    assert.equal(valueToJson({ t: 'b', v: true }), true);
    assert.equal(valueToJson({ t: 'n', v: 1.5 }), 1.5);
    assert.equal(valueToJson({ t: 'n', v: 7 }), 7);
    assert.equal(valueToJson({ t: 'l', v: '-9007199254740991' }), -9007199254740991);
    assert.deepStrictEqual(valueToJson({ t: 'l', v: '9007199254740992' }), { $long: '9007199254740992' });
    assert.deepStrictEqual(valueToJson({ t: 'l', v: '-9223372036854775808' }), { $long: '-9223372036854775808' });
    assert.deepStrictEqual(valueToJson({ t: 'i', v: 0 }), { $instant: '1970-01-01T00:00:00.000Z' });
    assert.deepStrictEqual(valueToJson({ t: 'i', v: 1_700_000_000_123 }), { $instant: '2023-11-14T22:13:20.123Z' });
    assert.deepStrictEqual(valueToJson({ t: 'y', v: 'AAE=' }), { $bytes: 'AAE=' });
    assert.deepStrictEqual(valueToJson({ t: 'j', v: '{"a":[1,null]}' }), { a: [1, null] });
  });

  it('wire values survive JSON output and parsing again', () => {
    const wires: WireValue[] = [
      { t: 's', v: 'x' },
      { t: 'l', v: '12' },
      { t: 'l', v: '-9223372036854775808' },
      { t: 'n', v: 0.5 },
      { t: 'i', v: -62_135_596_800_000 },
      { t: 'y', v: 'AAEC/w==' },
      { t: 'j', v: '[{"a":1}]' },
    ];
    for (const wire of wires) assert.deepStrictEqual(parseValue(wireValueToJson(wire)), wire);
  });

  it('opToJson gives the DESIGN §3 shapes back (parse ∘ toJson = identity)', () => {
    assert.deepStrictEqual(DESIGN_TX.ops.map(opToJson), DESIGN_BODY.ops);
    const tricky = parseTxJson(
      { ops: [{ op: 'expect', id: 'e', attr: 'a', value: [{ $long: '9007199254740993' }, { $bytes: 'AA==' }] }, { op: 'expect', id: 'e', attr: 'b', value: null }] },
      L,
    );
    assert.deepStrictEqual(parseTxJson({ ops: tricky.ops.map(opToJson) }, L), tricky);
  });

  it('changeToJson: the §4 shapes, old/new null when absent', () => {
    assert.deepStrictEqual(changeToJson({ kind: 'created', id: 'n', type: 'T', entity: 'node' }), { kind: 'created', id: 'n', type: 'T', entity: 'node' });
    assert.deepStrictEqual(changeToJson({ kind: 'created', id: 'e', type: 'E', entity: 'edge', from: 'a', to: 'b' }), {
      kind: 'created',
      id: 'e',
      type: 'E',
      entity: 'edge',
      from: 'a',
      to: 'b',
    });
    assert.deepStrictEqual(changeToJson({ kind: 'terminated', id: 'n' }), { kind: 'terminated', id: 'n' });
    assert.deepStrictEqual(changeToJson({ kind: 'set', id: 'n', attr: 'a', old: null, new: { t: 'l', v: '99999999999999999' } }), {
      kind: 'set',
      id: 'n',
      attr: 'a',
      old: null,
      new: { $long: '99999999999999999' },
    });
    assert.deepStrictEqual(changeToJson({ kind: 'set', id: 'n', attr: 'a', old: { t: 's', v: 'x' }, new: null }), { kind: 'set', id: 'n', attr: 'a', old: 'x', new: null });
    assert.deepStrictEqual(changeToJson({ kind: 'added', id: 'n', attr: 'm', value: { t: 'i', v: 0 } }), {
      kind: 'added',
      id: 'n',
      attr: 'm',
      value: { $instant: '1970-01-01T00:00:00.000Z' },
    });
    assert.deepStrictEqual(changeToJson({ kind: 'retracted', id: 'n', attr: 'm', value: { t: 'b', v: false } }), { kind: 'retracted', id: 'n', attr: 'm', value: false });
    assert.deepStrictEqual(changeToJson({ kind: 'schema', attr: 'a', definition: { valueType: 'long', cardinality: 'one', unique: true } }), {
      kind: 'schema',
      attr: 'a',
      definition: { valueType: 'long', cardinality: 'one', unique: true },
    });
    assert.deepStrictEqual(changeToJson({ kind: 'schema', type: 'T', definition: { kind: 'edge', required: ['w'] } }), {
      kind: 'schema',
      type: 'T',
      definition: { kind: 'edge', required: ['w'] },
    });
    assert.deepStrictEqual(changeToJson({ kind: 'schema', type: 'T', definition: null }), { kind: 'schema', type: 'T', definition: null });
  });

  it('reportToJson: committed (no error key) and aborted (error, originalOffset)', () => {
    const committed: TxReport = {
      offset: 3,
      timeMs: 1_700_000_000_000,
      status: 'committed',
      id: null,
      meta: { author: 'svc' },
      ops: [{ op: 'create', id: 'n', type: 'T' }],
      changes: [{ kind: 'created', id: 'n', type: 'T', entity: 'node' }],
    };
    assert.deepStrictEqual(reportToJson(committed), {
      offset: 3,
      time: '2023-11-14T22:13:20.000Z',
      status: 'committed',
      id: null,
      meta: { author: 'svc' },
      ops: [{ op: 'create', id: 'n', type: 'T' }],
      changes: [{ kind: 'created', id: 'n', type: 'T', entity: 'node' }],
    });
    const aborted: TxReport = {
      ...committed,
      status: 'aborted',
      id: 'k',
      error: { code: 'duplicate_tx', message: 'k already committed', op: null },
      originalOffset: 1,
      changes: [],
    };
    const json = reportToJson(aborted);
    assert.deepStrictEqual(json.error, { code: 'duplicate_tx', message: 'k already committed', op: null });
    assert.equal(json.originalOffset, 1);
    assert.deepStrictEqual(json.changes, []);
  });

  it('canonicalJson sorts keys recursively and rejects what is not JSON', () => {
    assert.equal(canonicalJson({ b: [{ d: 1, c: 2 }], a: 'x', A: true, é: null }), '{"A":true,"a":"x","b":[{"c":2,"d":1}],"é":null}');
    assert.equal(canonicalJson('line\nbreak'), '"line\\nbreak"');
    assert.equal(canonicalJson(-0), '0');
    for (const bad of [undefined, Number.NaN, () => 1, new Date(0), [undefined], { a: undefined }]) {
      assert.throws(() => canonicalJson(bad), TypeError);
    }
  });

  it('parseWhereValue: JSON when it parses, else the raw string', () => {
    assert.equal(parseWhereValue('42'), 42);
    assert.equal(parseWhereValue('-1.5'), -1.5);
    assert.equal(parseWhereValue('true'), true);
    assert.equal(parseWhereValue('null'), null);
    assert.equal(parseWhereValue('"42"'), '42');
    assert.equal(parseWhereValue('open'), 'open');
    assert.equal(parseWhereValue('a:b'), 'a:b');
    assert.equal(parseWhereValue(''), '');
    assert.deepStrictEqual(parseWhereValue('{"$long":"9007199254740993"}'), { $long: '9007199254740993' });
  });
});

describe('prototype pollution', () => {
  const polluted = (): boolean => 'polluted' in ({} as object) || Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted');

  it('a top-level __proto__ key is an unknown field', () => {
    const body: unknown = JSON.parse('{"__proto__": {"polluted": true}, "ops": [{"op": "terminate", "id": "e"}]}');
    expectError(() => parseTxJson(body, L), 'invalid_request', { field: '__proto__' });
    assert.equal(polluted(), false);
  });

  it('__proto__ and constructor keys in an op are extra fields', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const op: unknown = JSON.parse(`{"op": "create", "id": "e", "type": "T", "${key}": {"polluted": true}}`);
      expectError(() => parseTxJson(withOp(op), L), 'invalid_op', { op: 1, field: key });
    }
    assert.equal(polluted(), false);
  });

  it('an op inheriting its fields from a prototype is missing them', () => {
    const op = Object.create({ op: 'create', id: 'e', type: 'T' }) as unknown;
    expectError(() => parseTxJson(withOp(op), L), 'invalid_op', { op: 1, field: 'op' });
  });

  it('meta: constructor is an ordinary key, __proto__ is refused', () => {
    const tx = parseTxJson(JSON.parse('{"meta": {"constructor": "c", "toString": "t"}, "ops": [{"op": "terminate", "id": "e"}]}'), L);
    assert.ok(Object.hasOwn(tx.meta, 'constructor') && Object.hasOwn(tx.meta, 'toString'));
    assert.equal(tx.meta.constructor, 'c');
    const body: unknown = JSON.parse('{"meta": {"__proto__": "x"}, "ops": [{"op": "terminate", "id": "e"}]}');
    const err = expectError(() => parseTxJson(body, L), 'invalid_request');
    assert.match(err.message, /__proto__/);
    assert.equal(polluted(), false);
  });

  it('JSON values keep __proto__ as data, and output parses it back as an own key', () => {
    const value: unknown = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const wire = parseValue(value);
    assert.deepStrictEqual(wire, { t: 'j', v: '{"__proto__":{"polluted":true},"a":1}' });
    const back = valueToJson(wire) as Record<string, unknown>;
    assert.ok(Object.hasOwn(back, '__proto__'));
    assert.equal(polluted(), false);
  });

  it('a typed-value key inherited from a prototype is not a typed value', () => {
    const value = Object.create({ $long: '5' }) as unknown;
    // Not a plain object (its prototype is not Object.prototype): refused rather than guessed at.
    expectError(() => parseTxJson(setValue(value), L), 'invalid_value');
  });
});
