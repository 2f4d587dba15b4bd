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
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
export function desc64(offset: number): Buffer {
  return u64(MAX_U64 - BigInt(offset));
}
export function readDesc64(b: Buffer, at: number): number {
  return Number(MAX_U64 - b.readBigUInt64BE(at));
}
export function str(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), ZERO]);
}
const ZERO = Buffer.from([0]);
const TERM = Buffer.from([0, 1]);

function tag(c: string): Buffer {
  return Buffer.from(c, 'latin1');
}

export const metaKey = (name: string): Buffer => Buffer.concat([tag('m'), Buffer.from(name)]);
export const txKey = (offset: number): Buffer => Buffer.concat([tag('t'), u64(offset)]);
export const TX_PREFIX = tag('t');
export const timeKey = (timeMs: number, offset: number): Buffer => Buffer.concat([tag('w'), u64(timeMs), u64(offset)]);
export const idemKey = (key: string): Buffer => Buffer.concat([tag('k'), Buffer.from(key, 'utf8')]);
export const schemaKey = (offset: number, seq: number): Buffer => Buffer.concat([tag('S'), u64(offset), u64(seq)]);
export const SCHEMA_PREFIX = tag('S');

export const currentKey = (id: string): Buffer => Buffer.concat([tag('c'), Buffer.from(id, 'utf8')]);
export const entityPrefix = (id: string): Buffer => Buffer.concat([tag('e'), str(id)]);
export const entityVersionKey = (id: string, offset: number): Buffer => Buffer.concat([entityPrefix(id), desc64(offset)]);
export const outPrefix = (node: string): Buffer => Buffer.concat([tag('o'), str(node)]);
export const inPrefix = (node: string): Buffer => Buffer.concat([tag('i'), str(node)]);
export const outKey = (from: string, edge: string): Buffer => Buffer.concat([outPrefix(from), str(edge)]);
export const inKey = (to: string, edge: string): Buffer => Buffer.concat([inPrefix(to), str(edge)]);
export const typePrefix = (type: string): Buffer => Buffer.concat([tag('y'), str(type)]);
export const TYPE_FAMILY = tag('y');
export const typeKey = (type: string, id: string): Buffer => Buffer.concat([typePrefix(type), str(id)]);
export const attrPrefix = (attr: string): Buffer => Buffer.concat([tag('v'), str(attr)]);
export const attrValuePrefix = (attr: string, value: Value): Buffer => Buffer.concat([attrPrefix(attr), encodeValue(value)]);
export const attrValueKey = (attr: string, value: Value, id: string, offset: number): Buffer =>
  Buffer.concat([attrValuePrefix(attr, value), str(id), desc64(offset)]);

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
