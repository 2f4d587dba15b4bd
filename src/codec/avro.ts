// The log's binary codec (DESIGN §3, §8): Transaction and TxReport records per schemas/*.avsc, via avsc.
// decodeTx faces bytes from any Kafka producer, so it pre-scans them structurally before avsc decodes.
//
// Mapping of values. Transactions carry WireValue: 'l' ↔ long (always 'l' on decode, even when small:
// WireValue keeps every integer as 'l'), 'n' ↔ double, 's' ↔ string, 'b' ↔ boolean, 'y' (base64) ↔
// BytesValue, 'i' ↔ InstantValue, 'j' ↔ JsonValue. Reports carry Value, whose canonical form is 'n' for
// every number a double holds exactly and 'l' only for integers beyond 2^53: 'n' integers go out as long
// (so Kafka consumers see integers as integers) and non-integers as double; on decode a long is 'n' when
// it is a safe integer, else 'l'. Both mappings round-trip their canonical forms exactly.

import { existsSync, readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { StrataError } from '../core/errors.js';
import { DEFAULT_LIMITS, type Limits } from '../core/limits.js';
import type {
  AttrDefinition,
  Cardinality,
  Change,
  Op,
  OpName,
  TxInput,
  TxReport,
  TypeDefinition,
  Value,
  ValueType,
  ViewDefinition,
  WireValue,
} from '../core/types.js';
import { canonicalJson, checkTxStatic } from './json.js';

/** A log record that is not a valid Transaction: the fold records it as an `invalid_record` abort. */
export class RecordDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecordDecodeError';
  }
}

// ---------------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Avro long as bigint: avsc's default long throws beyond 2^53, and values up to 2^63 must survive.
 * avsc hands us the 8 little-endian two's-complement bytes of the long (it does the zigzag varint).
 */
const bigintLongType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer): bigint => buf.readBigInt64LE(0),
  toBuffer: (n: bigint): Buffer => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (json: number | string): bigint => BigInt(json),
  toJSON: (n: bigint): number | string => (n >= -SAFE_MAX && n <= SAFE_MAX ? Number(n) : n.toString()),
  isValid: (n: unknown): boolean => typeof n === 'bigint' && n >= INT64_MIN && n <= INT64_MAX,
  compare: (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0),
});

/** Every `long` (also `{"type":"long","logicalType":…}`) becomes the bigint long. */
function longHook(schema: unknown): avro.Type | undefined {
  if (schema === 'long') return bigintLongType;
  const isLongObject = typeof schema === 'object' && schema !== null && (schema as { type?: unknown }).type === 'long';
  return isLongObject ? bigintLongType : undefined;
}

/** schemas/ sits at the package root: two levels above src/codec, three above dist/src/codec. */
function readSchema(fileName: string): avro.Schema {
  let dir = new URL('.', import.meta.url);
  for (let depth = 0; depth < 5; depth++) {
    const candidate = new URL(`schemas/${fileName}`, dir);
    if (existsSync(candidate)) return JSON.parse(readFileSync(candidate, 'utf8')) as avro.Schema;
    dir = new URL('..', dir);
  }
  throw new Error(`schemas/${fileName} not found above ${fileURLToPath(import.meta.url)}`);
}

// One registry for both files: tx-report.avsc references transaction.avsc's named types (Op, Value, …).
// Wrapped unions: every union value is {branchName: value}, which is unambiguous (long vs double).
const registry: { [name: string]: avro.Type } = {};
const schemaOptions = { registry, wrapUnions: true, typeHook: longHook };
const txType = avro.Type.forSchema(readSchema('transaction.avsc'), schemaOptions);
const reportType = avro.Type.forSchema(readSchema('tx-report.avsc'), schemaOptions);

/**
 * Hex SHA-256 of the Transaction schema's canonical form (avsc's, after the Avro Parsing Canonical
 * Form: full names, no docs or logical types), for the Kafka `strata-schema` header. Doc-only edits do
 * not change it; any change to the bytes on the wire does.
 */
export const txSchemaFingerprint: string = txType.fingerprint('sha256').toString('hex');
/** Same for the TxReport schema (the `changes` topics). */
export const txReportSchemaFingerprint: string = reportType.fingerprint('sha256').toString('hex');

/**
 * Writer schemas whose records this build decodes: the current Transaction schema, and v1 as it was
 * before the view ops were appended to its unions (schemas/README.md, "Compatibility": those records
 * decode unchanged; the fingerprint of that schema, test/fixtures/transaction.v1-before-views.avsc).
 */
export const readableTxSchemaFingerprints: ReadonlySet<string> = new Set([
  txSchemaFingerprint,
  'a4ab6731780ed06bcd4bea792ef1c3f8ad758688400aa44ac8dc1c1a5446bb95',
]);

/**
 * Checks a log record's `strata-schema` header. Absent: the bytes are read with the current schema.
 * A fingerprint this build does not know names a writer schema it cannot read (another version, or the
 * TxReport schema), so the record is undecodable — an `invalid_record` abort — never decoded by guess:
 * bytes of another schema can parse as a Transaction and would then commit something nobody wrote.
 */
export function checkTxSchemaHeader(fingerprint: string | undefined): void {
  if (fingerprint === undefined || readableTxSchemaFingerprints.has(fingerprint)) return;
  throw new RecordDecodeError(
    `written with schema fingerprint ${JSON.stringify(fingerprint.slice(0, 80))}, which this build does not read (strata-schema must be ${txSchemaFingerprint})`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Structural pre-scan. avsc trusts block counts: a 6-byte record claiming 2^31 ops makes it loop
// 2^31 times past the end of the buffer, building objects, before it notices. The scan walks the
// bytes against the schema without allocating and rejects anything avsc would misread: truncation,
// counts larger than the remaining bytes, bad union/enum indices, overlong varints, invalid UTF-8,
// booleans other than 0/1, trailing bytes, and the map key `__proto__` (avsc would drop it silently).
// ---------------------------------------------------------------------------------------------------

type Shape =
  | { k: 'null' }
  | { k: 'boolean' }
  | { k: 'varint'; bytesMax: 5 | 10 }
  | { k: 'fixed'; size: number }
  | { k: 'string' }
  | { k: 'bytes' }
  | { k: 'enum'; count: number }
  | { k: 'record'; fields: Shape[] }
  | { k: 'union'; branches: Shape[] }
  | { k: 'array'; items: Shape }
  | { k: 'map'; values: Shape };

function shapeOf(type: avro.Type, seen: Map<avro.Type, Shape>): Shape {
  const known = seen.get(type);
  if (known !== undefined) return known;
  const shape = buildShape(type, seen);
  seen.set(type, shape);
  return shape;
}

function buildShape(type: avro.Type, seen: Map<avro.Type, Shape>): Shape {
  const t = avro.types;
  if (type instanceof t.RecordType) return { k: 'record', fields: type.fields.map((f) => shapeOf(f.type, seen)) };
  if (type instanceof t.WrappedUnionType) return { k: 'union', branches: type.types.map((b) => shapeOf(b, seen)) };
  if (type instanceof t.ArrayType) return { k: 'array', items: shapeOf(type.itemsType, seen) };
  if (type instanceof t.MapType) return { k: 'map', values: shapeOf(type.valuesType as avro.Type, seen) };
  if (type instanceof t.EnumType) return { k: 'enum', count: type.symbols.length };
  if (type instanceof t.FixedType) return { k: 'fixed', size: type.size };
  switch (type.typeName) {
    case 'null':
      return { k: 'null' };
    case 'boolean':
      return { k: 'boolean' };
    case 'int':
      return { k: 'varint', bytesMax: 5 };
    case 'long':
    case 'abstract:long':
      return { k: 'varint', bytesMax: 10 };
    case 'float':
      return { k: 'fixed', size: 4 };
    case 'double':
      return { k: 'fixed', size: 8 };
    case 'string':
      return { k: 'string' };
    case 'bytes':
      return { k: 'bytes' };
  }
  throw new Error(`avro pre-scan: unsupported type ${type.typeName}`);
}

const txShape = shapeOf(txType, new Map());

class Scanner {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  fail(message: string): never {
    throw new RecordDecodeError(`invalid Avro Transaction at byte ${this.pos}: ${message}`);
  }

  take(n: number): number {
    if (n > this.buf.length - this.pos) this.fail(`truncated (needs ${n} more bytes, has ${this.buf.length - this.pos})`);
    const start = this.pos;
    this.pos += n;
    return start;
  }

  /** A zigzag varint as a number (exact up to 2^53; larger magnitudes only ever fail range checks). */
  varint(bytesMax: number): number {
    let magnitude = 0;
    let scale = 1;
    for (let i = 0; i < bytesMax; i++) {
      const byte = this.buf[this.take(1)] as number;
      magnitude += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return magnitude % 2 === 0 ? magnitude / 2 : -(magnitude + 1) / 2;
      scale *= 128;
    }
    return this.fail(`varint longer than ${bytesMax} bytes`);
  }

  /** A length or index: non-negative and no larger than `max`. */
  count(max: number, what: string): number {
    const n = this.varint(10);
    if (n < 0 || n > max) this.fail(`${what} ${n} out of range 0..${max}`);
    return n;
  }

  remaining(): number {
    return this.buf.length - this.pos;
  }
}

function scan(s: Scanner, shape: Shape): void {
  switch (shape.k) {
    case 'null':
      return;
    case 'boolean':
      if ((s.buf[s.take(1)] as number) > 1) s.fail('boolean byte is neither 0 nor 1');
      return;
    case 'varint':
      s.varint(shape.bytesMax);
      return;
    case 'fixed':
      s.take(shape.size);
      return;
    case 'bytes':
      s.take(s.count(s.remaining(), 'bytes length'));
      return;
    case 'string':
      scanString(s);
      return;
    case 'enum':
      s.count(shape.count - 1, 'enum index');
      return;
    case 'record':
      for (const field of shape.fields) scan(s, field);
      return;
    case 'union':
      scan(s, shape.branches[s.count(shape.branches.length - 1, 'union branch')] as Shape);
      return;
    case 'array':
    case 'map':
      scanBlocks(s, shape);
      return;
  }
}

/** Checks a string's bounds and UTF-8; returns where its bytes start (they end at s.pos). */
function scanString(s: Scanner): number {
  const length = s.count(s.remaining(), 'string length');
  const start = s.take(length);
  // Most strings are ASCII: a byte loop is much cheaper than a view plus isUtf8.
  if (!isAscii(s.buf, start, s.pos) && !isUtf8(s.buf.subarray(start, s.pos))) s.fail('string is not valid UTF-8');
  return start;
}

function isAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((buf[i] as number) >= 0x80) return false;
  return true;
}

const PROTO_KEY = Buffer.from('__proto__', 'utf8');

function isProtoKey(s: Scanner, start: number): boolean {
  return s.pos - start === PROTO_KEY.length && PROTO_KEY.equals(s.buf.subarray(start, s.pos));
}

/** Arrays and maps: blocks of `count` items (a negative count is followed by the block's byte size). */
function scanBlocks(s: Scanner, shape: Extract<Shape, { k: 'array' | 'map' }>): void {
  for (;;) {
    let n = s.varint(10);
    if (n === 0) return;
    if (n < 0) {
      n = -n;
      s.count(s.remaining(), 'block size');
    }
    // Every item of our schemas takes at least one byte, so a count beyond the remaining bytes is a lie.
    if (n > s.remaining()) s.fail(`block of ${n} items but only ${s.remaining()} bytes left`);
    for (let i = 0; i < n; i++) {
      if (shape.k === 'map' && isProtoKey(s, scanString(s))) s.fail('map key __proto__ is not allowed');
      scan(s, shape.k === 'map' ? shape.values : shape.items);
    }
  }
}

function preScan(buf: Buffer): void {
  const s = new Scanner(buf);
  scan(s, txShape);
  if (s.remaining() > 0) s.fail(`${s.remaining()} trailing bytes after the record`);
}

// ---------------------------------------------------------------------------------------------------
// Avro object shapes (wrapped unions: {branchName: value}) and their conversions
// ---------------------------------------------------------------------------------------------------

/** A wrapped union value: exactly one own key, the branch's (full) name. */
type Branch = { readonly [branch: string]: unknown };
interface AvroValue {
  v: Branch;
}
interface AvroTx {
  id: Branch | null;
  meta: Record<string, string>;
  ops: { op: Branch }[];
}

const NS = 'strata.v1.';
const OP_RECORDS: Readonly<Record<OpName, string>> = {
  create: `${NS}Create`,
  link: `${NS}Link`,
  set: `${NS}Set`,
  unset: `${NS}Unset`,
  add: `${NS}Add`,
  retract: `${NS}Retract`,
  expect: `${NS}Expect`,
  terminate: `${NS}Terminate`,
  defineAttr: `${NS}DefineAttr`,
  defineType: `${NS}DefineType`,
  defineView: `${NS}DefineView`,
  retireView: `${NS}RetireView`,
};
const OP_NAMES: ReadonlyMap<string, OpName> = new Map(
  (Object.entries(OP_RECORDS) as [OpName, string][]).map(([name, record]) => [record, name]),
);

function unwrap(branch: Branch): [string, unknown] {
  const name = Object.keys(branch)[0];
  if (name === undefined) throw new RecordDecodeError('empty union value');
  return [name, branch[name]];
}

function toSafeNumber(n: bigint, what: string): number {
  if (n < -SAFE_MAX || n > SAFE_MAX) throw new RecordDecodeError(`${what} ${n} is beyond 2^53`);
  return Number(n);
}

function wireToAvro(v: WireValue | Value): AvroValue {
  switch (v.t) {
    case 's':
      return { v: { string: v.v } };
    case 'b':
      return { v: { boolean: v.v } };
    case 'n':
      return { v: { double: v.v } };
    case 'l':
      return { v: { long: BigInt(v.v) } };
    case 'i':
      return { v: { [`${NS}InstantValue`]: { epochMillis: BigInt(v.v) } } };
    case 'y':
      return { v: { [`${NS}BytesValue`]: { bytes: Buffer.from(v.v, 'base64') } } };
    case 'j':
      return { v: { [`${NS}JsonValue`]: { json: v.v } } };
  }
}

/** Value (reports): integers a double holds go out as long, so consumers see integers as integers. */
function valueToAvro(v: Value): AvroValue {
  if (v.t === 'n' && Number.isSafeInteger(v.v) && !Object.is(v.v, -0)) return { v: { long: BigInt(v.v) } };
  return wireToAvro(v);
}

function avroToWire(value: AvroValue): WireValue {
  const [branch, inner] = unwrap(value.v);
  switch (branch) {
    case 'string':
      return { t: 's', v: inner as string };
    case 'boolean':
      return { t: 'b', v: inner as boolean };
    case 'double':
      return { t: 'n', v: inner as number };
    case 'long':
      return { t: 'l', v: (inner as bigint).toString() };
    case `${NS}InstantValue`:
      return { t: 'i', v: toSafeNumber((inner as { epochMillis: bigint }).epochMillis, 'epochMillis') };
    case `${NS}BytesValue`:
      return { t: 'y', v: (inner as { bytes: Buffer }).bytes.toString('base64') };
    case `${NS}JsonValue`:
      return { t: 'j', v: canonicalJsonText((inner as { json: string }).json) };
  }
  throw new RecordDecodeError(`unknown value branch ${branch}`);
}

function avroToValue(value: AvroValue): Value {
  const v = avroToWire(value);
  if (v.t !== 'l') return v;
  const n = BigInt(v.v);
  return n >= -SAFE_MAX && n <= SAFE_MAX ? { t: 'n', v: Number(n) } : v;
}

/** Producers in other languages need not sort keys: the log's JSON text is canonicalized on decode. */
function canonicalJsonText(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RecordDecodeError('JsonValue.json is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new RecordDecodeError('JsonValue.json must be an array or object');
  try {
    return canonicalJson(parsed);
  } catch (err) {
    throw new RecordDecodeError(`JsonValue.json: ${(err as Error).message}`);
  }
}

function opToAvro(op: Op): { op: Branch } {
  return { op: { [OP_RECORDS[op.op]]: opBodyToAvro(op) } };
}

function opBodyToAvro(op: Op): object {
  switch (op.op) {
    case 'set':
    case 'add':
    case 'retract':
      return { id: op.id, attr: op.attr, value: wireToAvro(op.value) };
    case 'expect':
      return { id: op.id, attr: op.attr, value: expectToAvro(op.value) };
    default:
      return op; // no values to map; avsc's record writer reads only the schema's fields
  }
}

function expectToAvro(v: WireValue | WireValue[] | null): Branch | null {
  if (v === null) return null;
  if (Array.isArray(v)) return { array: v.map(wireToAvro) };
  return { [`${NS}Value`]: wireToAvro(v) };
}

function avroToOp(wrapped: { op: Branch }): Op {
  const [record, inner] = unwrap(wrapped.op);
  const name = OP_NAMES.get(record);
  if (name === undefined) throw new RecordDecodeError(`unknown op record ${record}`);
  const body = inner as Record<string, unknown>;
  const s = (field: string): string => body[field] as string;
  switch (name) {
    case 'create':
      return { op: name, id: s('id'), type: s('type') };
    case 'link':
      return { op: name, id: s('id'), type: s('type'), from: s('from'), to: s('to') };
    case 'set':
    case 'add':
    case 'retract':
      return { op: name, id: s('id'), attr: s('attr'), value: avroToWire(body.value as AvroValue) };
    case 'unset':
      return { op: name, id: s('id'), attr: s('attr') };
    case 'expect':
      return { op: name, id: s('id'), attr: s('attr'), value: avroToExpect(body.value as Branch | null) };
    case 'terminate':
      return { op: name, id: s('id') };
    case 'defineAttr':
      return { op: name, attr: s('attr'), valueType: s('valueType') as ValueType, cardinality: s('cardinality') as Cardinality, unique: body.unique as boolean };
    case 'defineType':
      return { op: name, type: s('type'), kind: s('kind') as 'node' | 'edge', required: [...(body.required as string[])] };
    case 'defineView':
      return { op: name, name: s('name'), query: canonicalQueryText(s('query')) };
    case 'retireView':
      return { op: name, name: s('name') };
  }
}

/** A view query from any producer: JSON text of an object, canonicalized like JsonValue. */
function canonicalQueryText(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RecordDecodeError('DefineView.query is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RecordDecodeError('DefineView.query must be a JSON object');
  try {
    return canonicalJson(parsed);
  } catch (err) {
    throw new RecordDecodeError(`DefineView.query: ${(err as Error).message}`);
  }
}

function avroToExpect(v: Branch | null): WireValue | WireValue[] | null {
  if (v === null) return null;
  const [branch, inner] = unwrap(v);
  return branch === 'array' ? (inner as AvroValue[]).map(avroToWire) : avroToWire(inner as AvroValue);
}

function nullableString(v: string | null): Branch | null {
  return v === null ? null : { string: v };
}

function avroToNullableString(v: Branch | null): string | null {
  return v === null ? null : (unwrap(v)[1] as string);
}

function avroToMeta(meta: Record<string, string>): Record<string, string> {
  // The pre-scan rejected `__proto__`, so copying into a plain object creates own properties only.
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) out[key] = value;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------------------

/** Encodes a transaction as an Avro `strata.v1.Transaction` (no header, no framing). */
export function encodeTx(tx: TxInput): Buffer {
  const record: AvroTx = { id: nullableString(tx.id), meta: { ...tx.meta }, ops: tx.ops.map(opToAvro) };
  return txType.toBuffer(record);
}

/**
 * Decodes and validates a log record. Throws RecordDecodeError when the bytes are not exactly one
 * Transaction, or when the transaction breaks the static rules and limits that parseTxJson enforces.
 */
export function decodeTx(buf: Buffer, limits: Limits = DEFAULT_LIMITS): TxInput {
  if (buf.length > limits.txBodyBytesMax) {
    throw new RecordDecodeError(`record of ${buf.length} bytes exceeds the ${limits.txBodyBytesMax}-byte limit`);
  }
  preScan(buf);
  const tx = fromAvroTx(buf);
  try {
    checkTxStatic(tx, limits);
  } catch (err) {
    if (err instanceof StrataError) throw new RecordDecodeError(`${err.code}: ${err.message}`, { cause: err });
    throw err;
  }
  return tx;
}

function fromAvroTx(buf: Buffer): TxInput {
  let record: AvroTx;
  try {
    record = txType.fromBuffer(buf) as AvroTx;
  } catch (err) {
    throw new RecordDecodeError(`undecodable Avro Transaction: ${(err as Error).message}`, { cause: err });
  }
  return { id: avroToNullableString(record.id), meta: avroToMeta(record.meta), ops: record.ops.map(avroToOp) };
}

// ---------------------------------------------------------------------------------------------------
// Tx reports (written by the fold, read back from the tx index and the `changes` topics)
// ---------------------------------------------------------------------------------------------------

interface AvroReport extends AvroTx {
  offset: bigint;
  timeMs: bigint;
  status: 'committed' | 'aborted';
  error: Branch | null;
  originalOffset: Branch | null;
  changes: Branch[];
}

interface AvroTxError {
  code: string;
  message: string;
  op: Branch | null;
}

/** Encodes a tx report as an Avro `strata.v1.TxReport`. */
export function encodeTxReport(r: TxReport): Buffer {
  const record: AvroReport = {
    offset: BigInt(r.offset),
    timeMs: BigInt(r.timeMs),
    status: r.status,
    id: nullableString(r.id),
    meta: { ...r.meta },
    ops: r.ops.map(opToAvro),
    error: r.error === undefined ? null : { [`${NS}TxError`]: txErrorToAvro(r.error) },
    originalOffset: r.originalOffset === undefined ? null : { long: BigInt(r.originalOffset) },
    changes: r.changes.map(changeToAvro),
  };
  return reportType.toBuffer(record);
}

function txErrorToAvro(e: NonNullable<TxReport['error']>): AvroTxError {
  return { code: e.code, message: e.message, op: e.op === null ? null : { int: e.op } };
}

function nullableValueToAvro(v: Value | null): Branch | null {
  return v === null ? null : { [`${NS}Value`]: valueToAvro(v) };
}

function changeToAvro(c: Change): Branch {
  switch (c.kind) {
    case 'created': {
      const edge = c.entity === 'edge';
      const body = { id: c.id, type: c.type, entity: c.entity, from: nullableString(edge ? c.from : null), to: nullableString(edge ? c.to : null) };
      return { [`${NS}Created`]: body };
    }
    case 'terminated':
      return { [`${NS}Terminated`]: { id: c.id } };
    case 'set':
      return { [`${NS}SetChange`]: { id: c.id, attr: c.attr, old: nullableValueToAvro(c.old), new: nullableValueToAvro(c.new) } };
    case 'added':
      return { [`${NS}Added`]: { id: c.id, attr: c.attr, value: valueToAvro(c.value) } };
    case 'retracted':
      return { [`${NS}Retracted`]: { id: c.id, attr: c.attr, value: valueToAvro(c.value) } };
    case 'schema':
      return schemaChangeToAvro(c);
  }
}

function schemaChangeToAvro(c: Extract<Change, { kind: 'schema' }>): Branch {
  if ('attr' in c) {
    const definition = c.definition === null ? null : { [`${NS}AttrDefinition`]: { ...c.definition } };
    return { [`${NS}SchemaAttr`]: { attr: c.attr, definition } };
  }
  if ('type' in c) {
    const definition = c.definition === null ? null : { [`${NS}TypeDefinition`]: { ...c.definition } };
    return { [`${NS}SchemaType`]: { type: c.type, definition } };
  }
  const definition = c.definition === null ? null : { [`${NS}ViewDefinition`]: { query: c.definition.query } };
  return { [`${NS}SchemaView`]: { view: c.view, definition } };
}

/** Decodes a tx report. Throws RecordDecodeError on bytes that are not exactly one TxReport. */
export function decodeTxReport(buf: Buffer): TxReport {
  // No pre-scan here: reports are our own writes (tx index, checksummed by RocksDB), read on hot paths.
  let record: AvroReport;
  try {
    record = reportType.fromBuffer(buf) as AvroReport;
  } catch (err) {
    throw new RecordDecodeError(`undecodable Avro TxReport: ${(err as Error).message}`, { cause: err });
  }
  return fromAvroReport(record);
}

function fromAvroReport(record: AvroReport): TxReport {
  const report: TxReport = {
    offset: toSafeNumber(record.offset, 'offset'),
    timeMs: toSafeNumber(record.timeMs, 'timeMs'),
    status: record.status,
    id: avroToNullableString(record.id),
    meta: avroToMeta(record.meta),
    ops: record.ops.map(avroToOp),
    changes: record.changes.map(avroToChange),
  };
  if (record.error !== null) report.error = avroToTxError(unwrap(record.error)[1] as AvroTxError);
  if (record.originalOffset !== null) report.originalOffset = toSafeNumber(unwrap(record.originalOffset)[1] as bigint, 'originalOffset');
  return report;
}

function avroToTxError(e: AvroTxError): NonNullable<TxReport['error']> {
  const op = e.op === null ? null : (unwrap(e.op)[1] as number);
  return { code: e.code as NonNullable<TxReport['error']>['code'], message: e.message, op };
}

function avroToNullableValue(v: Branch | null): Value | null {
  return v === null ? null : avroToValue(unwrap(v)[1] as AvroValue);
}

function avroToChange(wrapped: Branch): Change {
  const [record, inner] = unwrap(wrapped);
  const body = inner as Record<string, unknown>;
  const s = (field: string): string => body[field] as string;
  switch (record) {
    case `${NS}Created`:
      return avroToCreated(body);
    case `${NS}Terminated`:
      return { kind: 'terminated', id: s('id') };
    case `${NS}SetChange`:
      return { kind: 'set', id: s('id'), attr: s('attr'), old: avroToNullableValue(body.old as Branch | null), new: avroToNullableValue(body.new as Branch | null) };
    case `${NS}Added`:
    case `${NS}Retracted`: {
      const kind = record === `${NS}Added` ? 'added' : 'retracted';
      return { kind, id: s('id'), attr: s('attr'), value: avroToValue(body.value as AvroValue) };
    }
    case `${NS}SchemaAttr`: {
      const definition = body.definition === null ? null : (unwrap(body.definition as Branch)[1] as AttrDefinition);
      return { kind: 'schema', attr: s('attr'), definition: definition === null ? null : { ...definition } };
    }
    case `${NS}SchemaType`: {
      const definition = body.definition === null ? null : (unwrap(body.definition as Branch)[1] as TypeDefinition);
      return { kind: 'schema', type: s('type'), definition: definition === null ? null : { kind: definition.kind, required: [...definition.required] } };
    }
    case `${NS}SchemaView`: {
      const definition = body.definition === null ? null : (unwrap(body.definition as Branch)[1] as ViewDefinition);
      return { kind: 'schema', view: s('view'), definition: definition === null ? null : { query: definition.query } };
    }
  }
  throw new RecordDecodeError(`unknown change record ${record}`);
}

function avroToCreated(body: Record<string, unknown>): Change {
  const id = body.id as string;
  const type = body.type as string;
  if (body.entity === 'node') return { kind: 'created', id, type, entity: 'node' };
  const from = avroToNullableString(body.from as Branch | null);
  const to = avroToNullableString(body.to as Branch | null);
  if (from === null || to === null) throw new RecordDecodeError(`created edge ${id} lacks from/to`);
  return { kind: 'created', id, type, entity: 'edge', from, to };
}
