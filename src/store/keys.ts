// Order-preserving binary key layout of one graph's RocksDB (version 1). Grammar, one family per
// leading byte; `str` = UTF-8 bytes then 0x00 (ids and names never contain control characters);
// `u64` = 8-byte big-endian; `desc64` = u64 of (2^64-1 - offset), so newer sorts first:
//
//   'm' name                              → meta (materialized offset, tx time, counts) as JSON
//   't' u64(offset)                       → tx report (Avro TxReport)
//   'w' u64(timeMs) u64(offset)           → empty; asOf=T is one reverse seek
//   'k' str(txKey)                        → u64(offset) of the committing tx (idempotency)
//   'S' u64(offset) u64(seq)              → schema change (JSON), loaded whole at open (small)
//   'c' id                                → the entity's latest version (same value as its newest 'e'): one get
//   'e' str(id) desc64(offset)            → entity version: full state after the tx + its own changes
//   'o' str(from) str(edgeId)             → out-edge lifetime {type, to, c, x}
//   'i' str(to) str(edgeId)               → in-edge lifetime {type, from, c, x}
//   'y' str(type) str(id)                 → lifetime {c, x} (listing by type)
//   'v' str(attr) value desc… str(id) desc64(offset) → 1 assert / 0 retract (listing by value, unique)
//   'q' str(view) rowKey                  → the view row as last maintained (JSON), empty = absent: one get
//   'r' str(view) rowKey desc64(offset)   → the row from that offset on (JSON), empty = removed there
//   'd' str(view) u64(offset)             → the view's delta at that offset {added, removed} (JSON)
//   'm' "views"                           → offset up to which every view is maintained
//
// `rowKey` = the row's key columns (every found variable; the grouping variables of an aggregate view)
// as `value`s one after another: prefix-free, so one row's versions are one contiguous range.
// The view families are written by the view maintainer (src/views) in its own batches, never by the fold.
//
// `value` = tag byte + escaped body + 0x00 0x01 (escape 0x00 as 0x00 0xFF), so a value is a prefix-free
// key component and equal values (5 the long, 5.0 the double) encode identically.

import type { Value } from '../core/types.js';

export const KEY_LAYOUT_VERSION = 1;
const MAX_U64 = 0xffffffffffffffffn;

export function u64(n: number | bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) writeU64(b, n, 0);
  else b.writeBigUInt64BE(BigInt(n));
  return b;
}
export function desc64(offset: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeDesc64(b, offset, 0);
  return b;
}
export function readDesc64(b: Buffer, at: number): number {
  return Number(MAX_U64 - b.readBigUInt64BE(at));
}
export function str(s: string): Buffer {
  const n = Buffer.byteLength(s, 'utf8');
  const b = Buffer.allocUnsafe(n + 1);
  b.write(s, 0, n, 'utf8');
  b[n] = 0;
  return b;
}
const TERM = Buffer.from([0, 1]);
const TWO_32 = 2 ** 32;

// The builders below fill one buffer instead of concatenating parts: the fold writes ~13 keys per tx,
// and the intermediate buffers were a large share of its garbage. Offsets and times are safe integers.
function writeU64(b: Buffer, n: number, at: number): void {
  b.writeUInt32BE(Math.floor(n / TWO_32), at);
  b.writeUInt32BE(n >>> 0, at + 4);
}
/** 2^64-1 - n, i.e. the bitwise complement of n, half by half. */
function writeDesc64(b: Buffer, n: number, at: number): void {
  b.writeUInt32BE(0xffffffff - Math.floor(n / TWO_32), at);
  b.writeUInt32BE(0xffffffff - (n >>> 0), at + 4);
}
/** tag str(a) [str(b)] [desc64(offset)], with offset < 0 meaning none. */
function tagged(tagByte: number, a: string, b: string | null, offset: number): Buffer {
  const na = Buffer.byteLength(a, 'utf8');
  const nb = b === null ? -1 : Buffer.byteLength(b, 'utf8');
  const out = Buffer.allocUnsafe(2 + na + (nb + 1) + (offset < 0 ? 0 : 8));
  out[0] = tagByte;
  out.write(a, 1, na, 'utf8');
  out[1 + na] = 0;
  let at = 2 + na;
  if (b !== null) {
    out.write(b, at, nb, 'utf8');
    out[at + nb] = 0;
    at += nb + 1;
  }
  if (offset >= 0) writeDesc64(out, offset, at);
  return out;
}

function tag(c: string): Buffer {
  return Buffer.from(c, 'latin1');
}

export const metaKey = (name: string): Buffer => Buffer.concat([tag('m'), Buffer.from(name)]);
export function txKey(offset: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b[0] = 0x74; // 't'
  writeU64(b, offset, 1);
  return b;
}
export const TX_PREFIX = tag('t');
export function timeKey(timeMs: number, offset: number): Buffer {
  const b = Buffer.allocUnsafe(17);
  b[0] = 0x77; // 'w'
  writeU64(b, timeMs, 1);
  writeU64(b, offset, 9);
  return b;
}
export const idemKey = (key: string): Buffer => Buffer.concat([tag('k'), Buffer.from(key, 'utf8')]);
export const schemaKey = (offset: number, seq: number): Buffer => Buffer.concat([tag('S'), u64(offset), u64(seq)]);
export const SCHEMA_PREFIX = tag('S');

export function currentKey(id: string): Buffer {
  const n = Buffer.byteLength(id, 'utf8');
  const b = Buffer.allocUnsafe(1 + n);
  b[0] = 0x63; // 'c'
  b.write(id, 1, n, 'utf8');
  return b;
}
export const entityPrefix = (id: string): Buffer => Buffer.concat([tag('e'), str(id)]);
export const entityVersionKey = (id: string, offset: number): Buffer => tagged(0x65, id, null, offset); // 'e'
export const outPrefix = (node: string): Buffer => Buffer.concat([tag('o'), str(node)]);
export const inPrefix = (node: string): Buffer => Buffer.concat([tag('i'), str(node)]);
export const outKey = (from: string, edge: string): Buffer => tagged(0x6f, from, edge, -1); // 'o'
export const inKey = (to: string, edge: string): Buffer => tagged(0x69, to, edge, -1); // 'i'
export const typePrefix = (type: string): Buffer => Buffer.concat([tag('y'), str(type)]);
export const TYPE_FAMILY = tag('y');
export const typeKey = (type: string, id: string): Buffer => tagged(0x79, type, id, -1); // 'y'
export const attrPrefix = (attr: string): Buffer => Buffer.concat([tag('v'), str(attr)]);
export const attrValuePrefix = (attr: string, value: Value): Buffer => Buffer.concat([attrPrefix(attr), encodeValue(value)]);
export function attrValueKey(attr: string, value: Value, id: string, offset: number): Buffer {
  const body = escape(valueBody(value));
  const na = Buffer.byteLength(attr, 'utf8');
  const ni = Buffer.byteLength(id, 'utf8');
  const b = Buffer.allocUnsafe(1 + na + 1 + 1 + body.length + 2 + ni + 1 + 8);
  b[0] = 0x76; // 'v'
  b.write(attr, 1, na, 'utf8');
  let at = 1 + na;
  b[at++] = 0;
  b[at++] = VALUE_TAG[value.t];
  at += body.copy(b, at);
  b[at++] = 0;
  b[at++] = 1;
  b.write(id, at, ni, 'utf8');
  at += ni;
  b[at++] = 0;
  writeDesc64(b, offset, at);
  return b;
}

export const viewCurrentPrefix = (view: string): Buffer => Buffer.concat([tag('q'), str(view)]);
export const viewCurrentKey = (view: string, rowKey: Buffer): Buffer => Buffer.concat([viewCurrentPrefix(view), rowKey]);
export const viewRowsPrefix = (view: string): Buffer => Buffer.concat([tag('r'), str(view)]);
export const viewRowKey = (view: string, rowKey: Buffer, offset: number): Buffer => Buffer.concat([viewRowsPrefix(view), rowKey, desc64(offset)]);
export const viewDeltaPrefix = (view: string): Buffer => Buffer.concat([tag('d'), str(view)]);
export const viewDeltaKey = (view: string, offset: number): Buffer => Buffer.concat([viewDeltaPrefix(view), u64(offset)]);

/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  throw new Error('prefix has no upper bound');
}

/** Order-preserving float64: flip the sign bit of positives, every bit of negatives. */
function orderedDouble(x: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleBE(x === 0 ? 0 : x); // -0 and 0 are one value
  if (b[0] & 0x80) for (let i = 0; i < 8; i++) b[i] = ~b[i] & 0xff;
  else b[0] |= 0x80;
  return b;
}

function escape(body: Buffer): Buffer {
  if (!body.includes(0)) return body;
  const out: number[] = [];
  for (const byte of body) byte === 0 ? out.push(0, 0xff) : out.push(byte);
  return Buffer.from(out);
}

function valueBody(v: Value): Buffer {
  switch (v.t) {
    case 's':
      return Buffer.from(v.v, 'utf8');
    case 'n':
      return orderedDouble(v.v);
    case 'l':
      // Beyond 2^53 a double is not exact: the decimal text breaks ties between longs sharing a double.
      return Buffer.concat([orderedDouble(Number(v.v)), Buffer.from(v.v, 'latin1')]);
    case 'b':
      return Buffer.from([v.v ? 1 : 0]);
    case 'i':
      return orderedDouble(v.v);
    case 'y':
      return Buffer.from(v.v, 'base64');
    case 'j':
      return Buffer.from(v.v, 'utf8');
  }
}

const VALUE_TAG: Record<Value['t'], number> = { b: 0x01, n: 0x02, l: 0x02, s: 0x03, i: 0x04, y: 0x05, j: 0x06 };

export function encodeValue(v: Value): Buffer {
  return Buffer.concat([Buffer.from([VALUE_TAG[v.t]]), escape(valueBody(v)), TERM]);
}
