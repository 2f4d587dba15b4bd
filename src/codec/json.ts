// The HTTP JSON edge: parses and statically validates transaction bodies (DESIGN §3) into TxInput, and
// renders values, ops, changes and tx reports in their JSON output forms (DESIGN §4, §5).

import { StrataError, type ErrorCode } from '../core/errors.js';
import { VIEW_NAME_PATTERN, type Limits } from '../core/limits.js';
import {
  VALUE_TYPES,
  type Change,
  type Op,
  type TxError,
  type TxInput,
  type TxReport,
  type Value,
  type WireValue,
} from '../core/types.js';

/** A JSON object as produced by the output functions below. */
export type JsonObject = { [key: string]: unknown };

/**
 * Nesting depth of a JSON value (valueType json). Canonicalization recurses, so an unbounded depth would
 * let a 64 KiB value like `[[[[…` overflow the stack. Belongs in core/limits.ts; kept here until it moves.
 */
export const JSON_DEPTH_MAX = 64;

/** The ECMAScript Date range (±10^8 days): instants outside it have no ISO-8601 form. */
const INSTANT_MS_MAX = 8.64e15;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
/** One cheap test that clears almost every id before the precise checks below. */
const CONTROL_OR_SURROGATE = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;
// A lone surrogate cannot be encoded as UTF-8: Avro (the log) would replace it, so the value a client
// sent would not be the value the fold sees. Reject it at the edge instead.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const DECIMAL_INT = /^-?\d{1,20}$/;
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;
const ISO_INSTANT =
  /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

const TX_FIELDS = new Set(['id', 'meta', 'ops']);
const CARDINALITIES = ['one', 'many'] as const;
const ENTITY_KINDS = ['node', 'edge'] as const;

/** Where a static error was found: the op index (absent for tx-level fields) and the field name. */
interface Where {
  op?: number;
  field: string;
}

function fail(code: ErrorCode, message: string, where: Where): never {
  const details = where.op === undefined ? { field: where.field } : { op: where.op, field: where.field };
  const prefix = where.op === undefined ? '' : `op ${where.op}: `;
  throw new StrataError(code, prefix + message, details);
}

/** Reads an own property only, so keys like `constructor` or `__proto__` never reach Object.prototype. */
function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Objects as JSON.parse makes them (or null-prototype ones); class instances are not JSON values. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Counts code points (what "chars" means in limits), stopping early once past `max`. */
function charCount(s: string, max: number): number {
  if (s.length > 2 * max) return s.length; // at least length/2 code points: surely too long
  let n = 0;
  for (const _ of s) if (++n > max) break;
  return n;
}

// ---------------------------------------------------------------------------------------------------
// Static rules on the normalized form, shared with the Avro decoder (a foreign producer can write
// anything a JSON client can, so both edges enforce the same rules).
// ---------------------------------------------------------------------------------------------------

/** Ids, attr and type names: 1..max chars, no control characters, well-formed Unicode. */
function checkIdentifier(s: string, max: number, where: Where): void {
  const what = `"${where.field}"`;
  if (s.length === 0) fail('invalid_id', `${what} is empty`, where);
  if (s.length > max && charCount(s, max) > max) fail('invalid_id', `${what} is longer than ${max} chars`, where);
  if (!CONTROL_OR_SURROGATE.test(s)) return;
  if (CONTROL_CHARS.test(s)) fail('invalid_id', `${what} contains a control character`, where);
  if (LONE_SURROGATE.test(s)) fail('invalid_id', `${what} contains a lone surrogate`, where);
}

function checkTxId(id: string | null, limits: Limits): void {
  if (id !== null) checkIdentifier(id, limits.txIdCharsMax, { field: 'id' });
}

function checkMeta(entries: [string, unknown][], limits: Limits): void {
  if (entries.length > limits.metaEntriesMax) {
    throw new StrataError('invalid_request', `meta has more than ${limits.metaEntriesMax} entries`, { field: 'meta' });
  }
  for (const [key, value] of entries) checkMetaEntry(key, value, limits);
}

function checkMetaEntry(key: string, value: unknown, limits: Limits): void {
  const bad = (message: string): never => {
    throw new StrataError('invalid_request', `meta ${JSON.stringify(key)}: ${message}`, { field: 'meta', key });
  };
  // `__proto__` would silently vanish from (or re-prototype) the plain objects downstream code builds.
  if (key === '__proto__') bad('the key __proto__ is reserved');
  const keyChars = charCount(key, limits.idCharsMax);
  if (keyChars === 0 || keyChars > limits.idCharsMax) bad(`keys have 1 to ${limits.idCharsMax} chars`);
  if (CONTROL_CHARS.test(key) || LONE_SURROGATE.test(key)) bad('the key contains a control character or lone surrogate');
  if (typeof value !== 'string') return bad('values must be strings');
  if (charCount(value, limits.metaValueCharsMax) > limits.metaValueCharsMax) {
    bad(`values have at most ${limits.metaValueCharsMax} chars`);
  }
  if (LONE_SURROGATE.test(value)) bad('the value contains a lone surrogate');
}

function checkOpCount(count: number, limits: Limits): void {
  if (count === 0) throw new StrataError('invalid_request', 'a transaction needs at least one op', { field: 'ops' });
  if (count > limits.opsPerTxMax) {
    throw new StrataError('too_many_ops', `a transaction has at most ${limits.opsPerTxMax} ops (got ${count})`, {
      field: 'ops',
      count,
    });
  }
}

/** Size and range rules of a value that the conversions (JSON or Avro) do not already guarantee. */
function checkWireValue(v: WireValue, limits: Limits, where: Where): void {
  const max = limits.valueBytesMax;
  const tooBig = (bytes: number): void => {
    if (bytes > max) fail('invalid_value', `the value has ${bytes} bytes, more than ${max}`, where);
  };
  switch (v.t) {
    case 's':
      if (LONE_SURROGATE.test(v.v)) fail('invalid_value', 'the string contains a lone surrogate', where);
      return tooBig(Buffer.byteLength(v.v, 'utf8'));
    case 'j':
      return tooBig(Buffer.byteLength(v.v, 'utf8'));
    case 'y':
      return tooBig(Buffer.byteLength(v.v, 'base64'));
    case 'n':
      if (!Number.isFinite(v.v)) fail('invalid_value', 'numbers must be finite', where);
      return;
    case 'i':
      if (!Number.isInteger(v.v) || Math.abs(v.v) > INSTANT_MS_MAX) {
        fail('invalid_value', 'the instant is outside the representable date range', where);
      }
      return;
    case 'l':
    case 'b':
      return;
  }
}

function checkExpectValue(v: WireValue | WireValue[] | null, limits: Limits, where: Where): void {
  if (v === null) return;
  if (Array.isArray(v)) v.forEach((item) => checkWireValue(item, limits, where));
  else checkWireValue(v, limits, where);
}

/** The static rules of one op (ids, names, value sizes), in field order. */
function checkOp(op: Op, index: number, limits: Limits): void {
  const id = (s: string, field: string): void => checkIdentifier(s, limits.idCharsMax, { op: index, field });
  const valueWhere: Where = { op: index, field: 'value' };
  switch (op.op) {
    case 'create':
      id(op.id, 'id');
      id(op.type, 'type');
      break;
    case 'link':
      id(op.id, 'id');
      id(op.type, 'type');
      id(op.from, 'from');
      id(op.to, 'to');
      break;
    case 'set':
    case 'add':
    case 'retract':
      id(op.id, 'id');
      id(op.attr, 'attr');
      checkWireValue(op.value, limits, valueWhere);
      break;
    case 'expect':
      id(op.id, 'id');
      id(op.attr, 'attr');
      checkExpectValue(op.value, limits, valueWhere);
      break;
    case 'unset':
      id(op.id, 'id');
      id(op.attr, 'attr');
      break;
    case 'terminate':
      id(op.id, 'id');
      break;
    case 'defineAttr':
      id(op.attr, 'attr');
      break;
    case 'defineType':
      id(op.type, 'type');
      op.required.forEach((name) => id(name, 'required'));
      break;
    case 'defineView':
      checkViewName(op.name, index);
      if (Buffer.byteLength(op.query, 'utf8') > limits.viewQueryBytesMax) {
        fail('invalid_op', `the view query has more than ${limits.viewQueryBytesMax} bytes`, { op: index, field: 'query' });
      }
      break;
    case 'retireView':
      checkViewName(op.name, index);
      break;
  }
}

/** View names become Kafka topic names (`<prefix>.<graph>.view.<name>`): the graph name rule. */
function checkViewName(name: string, index: number): void {
  if (!VIEW_NAME_PATTERN.test(name)) fail('invalid_op', `view names match ${VIEW_NAME_PATTERN.source}`, { op: index, field: 'name' });
}

/**
 * Checks a structurally sound transaction (as decoded from Avro) against the static rules of DESIGN §3
 * and the limits. Throws the same StrataError codes as parseTxJson.
 */
export function checkTxStatic(tx: TxInput, limits: Limits): void {
  checkTxId(tx.id, limits);
  checkMeta(Object.entries(tx.meta), limits);
  checkOpCount(tx.ops.length, limits);
  tx.ops.forEach((op, index) => checkOp(op, index, limits));
}

// ---------------------------------------------------------------------------------------------------
// JSON → normalized form
// ---------------------------------------------------------------------------------------------------

/**
 * Parses and validates a transaction body (DESIGN §3). Throws StrataError: invalid_request (shape of the
 * body, meta, empty ops), invalid_op, invalid_id, invalid_value, too_many_ops; op errors carry
 * details {op: index, field}.
 */
export function parseTxJson(body: unknown, limits: Limits): TxInput {
  if (!isPlainObject(body)) throw new StrataError('invalid_request', 'a transaction must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!TX_FIELDS.has(key)) {
      throw new StrataError('invalid_request', `unknown field ${JSON.stringify(key)} in the transaction`, { field: key });
    }
  }
  const id = parseTxId(own(body, 'id'), limits);
  const meta = parseMeta(own(body, 'meta'), limits);
  const ops = parseOps(own(body, 'ops'), limits);
  return { id, meta, ops };
}

function parseTxId(raw: unknown, limits: Limits): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string') {
    throw new StrataError('invalid_request', 'the transaction id must be a string', { field: 'id' });
  }
  checkTxId(raw, limits);
  return raw;
}

function parseMeta(raw: unknown, limits: Limits): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) {
    throw new StrataError('invalid_request', 'meta must be an object of strings', { field: 'meta' });
  }
  const entries = Object.entries(raw);
  checkMeta(entries, limits);
  // Every key was checked above (no `__proto__`), so plain assignment creates own properties only.
  const meta: Record<string, string> = {};
  for (const [key, value] of entries) meta[key] = value as string;
  return meta;
}

function parseOps(raw: unknown, limits: Limits): Op[] {
  if (!Array.isArray(raw)) throw new StrataError('invalid_request', 'ops must be an array', { field: 'ops' });
  checkOpCount(raw.length, limits);
  const ops: Op[] = [];
  for (let index = 0; index < raw.length; index++) {
    const op = parseOp(raw[index], index, limits);
    checkOp(op, index, limits);
    ops.push(op);
  }
  return ops;
}

/** Reads the typed fields of one raw op; every failure names the op index and the field. */
class FieldReader {
  constructor(
    private readonly raw: Record<string, unknown>,
    private readonly index: number,
    private readonly limits: Limits,
  ) {}

  private where(field: string): Where {
    return { op: this.index, field };
  }

  string(field: string): string {
    const v = own(this.raw, field);
    if (typeof v !== 'string') fail('invalid_op', `"${field}" must be a string`, this.where(field));
    return v;
  }

  /** An optional field: absent or null means the default. */
  oneOf<T extends string>(field: string, allowed: readonly T[], fallback?: T): T {
    const v = own(this.raw, field);
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    const found = allowed.find((a) => a === v);
    if (found === undefined) fail('invalid_op', `"${field}" must be one of ${allowed.join(', ')}`, this.where(field));
    return found;
  }

  boolean(field: string, fallback: boolean): boolean {
    const v = own(this.raw, field);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') fail('invalid_op', `"${field}" must be a boolean`, this.where(field));
    return v;
  }

  stringArray(field: string): string[] {
    const v = own(this.raw, field);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((s): s is string => typeof s === 'string')) {
      fail('invalid_op', `"${field}" must be an array of strings`, this.where(field));
    }
    return [...v];
  }

  /** A view query: a JSON object, kept as canonical text (its meaning is checked by the view layer). */
  query(field: string): string {
    const v = own(this.raw, field);
    if (!isPlainObject(v)) fail('invalid_op', `"${field}" must be a query object (docs/query.md)`, this.where(field));
    try {
      return canonicalize(v, 0);
    } catch (err) {
      if (err instanceof JsonShapeError) fail('invalid_op', `"${field}": ${err.message}`, this.where(field));
      throw err;
    }
  }

  value(field: string): WireValue {
    const v = own(this.raw, field);
    if (v === null) fail('invalid_value', `"${field}" is null: to remove a value, use unset`, this.where(field));
    return toWireValue(v, this.where(field), this.limits);
  }

  /** expect: null (absent), one value, or an array of values (a cardinality-many set). */
  expectValue(field: string): WireValue | WireValue[] | null {
    const v = own(this.raw, field);
    if (v === null) return null;
    if (!Array.isArray(v)) return toWireValue(v, this.where(field), this.limits);
    return v.map((item: unknown) => {
      if (item === null) fail('invalid_value', `"${field}" holds a null item`, this.where(field));
      return toWireValue(item, this.where(field), this.limits);
    });
  }
}

interface OpSpec {
  required: readonly string[];
  optional: readonly string[];
  /** Builds the op; object literal order = field order, so the first bad field is the one reported. */
  parse: (r: FieldReader) => Op;
}

const valueOp =
  (op: 'set' | 'add' | 'retract') =>
  (r: FieldReader): Op => ({ op, id: r.string('id'), attr: r.string('attr'), value: r.value('value') });

// A Map, not an object literal: an op named "constructor" or "__proto__" must not find a prototype member.
const OP_SPECS: ReadonlyMap<string, OpSpec> = new Map<string, OpSpec>([
  ['create', { required: ['id', 'type'], optional: [], parse: (r) => ({ op: 'create', id: r.string('id'), type: r.string('type') }) }],
  [
    'link',
    {
      required: ['id', 'type', 'from', 'to'],
      optional: [],
      parse: (r) => ({ op: 'link', id: r.string('id'), type: r.string('type'), from: r.string('from'), to: r.string('to') }),
    },
  ],
  ['set', { required: ['id', 'attr', 'value'], optional: [], parse: valueOp('set') }],
  ['add', { required: ['id', 'attr', 'value'], optional: [], parse: valueOp('add') }],
  ['retract', { required: ['id', 'attr', 'value'], optional: [], parse: valueOp('retract') }],
  ['unset', { required: ['id', 'attr'], optional: [], parse: (r) => ({ op: 'unset', id: r.string('id'), attr: r.string('attr') }) }],
  [
    'expect',
    {
      required: ['id', 'attr', 'value'],
      optional: [],
      parse: (r) => ({ op: 'expect', id: r.string('id'), attr: r.string('attr'), value: r.expectValue('value') }),
    },
  ],
  ['terminate', { required: ['id'], optional: [], parse: (r) => ({ op: 'terminate', id: r.string('id') }) }],
  [
    'defineAttr',
    {
      required: ['attr', 'valueType'],
      optional: ['cardinality', 'unique'],
      parse: (r) => ({
        op: 'defineAttr',
        attr: r.string('attr'),
        valueType: r.oneOf('valueType', VALUE_TYPES),
        cardinality: r.oneOf('cardinality', CARDINALITIES, 'one'),
        unique: r.boolean('unique', false),
      }),
    },
  ],
  [
    'defineType',
    {
      required: ['type'],
      optional: ['kind', 'required'],
      parse: (r) => ({
        op: 'defineType',
        type: r.string('type'),
        kind: r.oneOf('kind', ENTITY_KINDS, 'node'),
        required: r.stringArray('required'),
      }),
    },
  ],
  ['defineView', { required: ['name', 'query'], optional: [], parse: (r) => ({ op: 'defineView', name: r.string('name'), query: r.query('query') }) }],
  ['retireView', { required: ['name'], optional: [], parse: (r) => ({ op: 'retireView', name: r.string('name') }) }],
]);

function parseOp(raw: unknown, index: number, limits: Limits): Op {
  const where: Where = { op: index, field: 'op' };
  if (!isPlainObject(raw)) fail('invalid_op', 'an op must be a JSON object', where);
  const name = own(raw, 'op');
  if (typeof name !== 'string') fail('invalid_op', '"op" (the op name) must be a string', where);
  const spec = OP_SPECS.get(name);
  if (spec === undefined) fail('invalid_op', `unknown op ${JSON.stringify(name)}`, where);
  checkFieldSet(raw, spec, index);
  return spec.parse(new FieldReader(raw, index, limits));
}

function checkFieldSet(raw: Record<string, unknown>, spec: OpSpec, index: number): void {
  for (const key of Object.keys(raw)) {
    if (key !== 'op' && !spec.required.includes(key) && !spec.optional.includes(key)) {
      fail('invalid_op', `unexpected field ${JSON.stringify(key)}`, { op: index, field: key });
    }
  }
  for (const field of spec.required) {
    if (!Object.hasOwn(raw, field)) fail('invalid_op', `missing field "${field}"`, { op: index, field });
  }
}

/**
 * Converts one JSON value (not null) to its wire form: plain scalars, the typed forms
 * {"$long"}, {"$instant"}, {"$bytes"}, or any other array/object as canonical JSON.
 */
export function parseValueJson(raw: unknown, limits: Limits): WireValue {
  return toWireValue(raw, { field: 'value' }, limits);
}

function toWireValue(raw: unknown, where: Where, limits: Limits): WireValue {
  let v: WireValue;
  if (typeof raw === 'string') v = { t: 's', v: raw };
  else if (typeof raw === 'boolean') v = { t: 'b', v: raw };
  else if (typeof raw === 'number') v = numberValue(raw, where);
  else if (Array.isArray(raw)) v = jsonValue(raw, where);
  else if (isPlainObject(raw)) v = objectValue(raw, where);
  else if (raw === null) return fail('invalid_value', 'null is not a value: to remove a value, use unset', where);
  else return fail('invalid_value', 'not a JSON value', where);
  checkWireValue(v, limits, where);
  return v;
}

function numberValue(n: number, where: Where): WireValue {
  if (!Number.isFinite(n)) fail('invalid_value', 'numbers must be finite', where);
  // WireValue keeps every integer as 'l' (decimal); String(-0) is "0", which is what we want.
  return Number.isSafeInteger(n) ? { t: 'l', v: String(n) } : { t: 'n', v: n };
}

const TYPED_VALUES: ReadonlyMap<string, (text: string, where: Where) => WireValue> = new Map([
  ['$long', parseLong],
  ['$instant', parseInstant],
  ['$bytes', parseBytes],
]);

function objectValue(obj: Record<string, unknown>, where: Where): WireValue {
  const keys = Object.keys(obj);
  const typedKey = keys.find((key) => TYPED_VALUES.has(key));
  if (typedKey === undefined) return jsonValue(obj, where);
  // A typed value object with other keys is ambiguous (typo, or meant as JSON?): refuse to guess.
  if (keys.length !== 1) fail('invalid_value', `a {"${typedKey}": …} value has no other keys`, where);
  const text = obj[typedKey];
  if (typeof text !== 'string') fail('invalid_value', `"${typedKey}" takes a string`, where);
  const parse = TYPED_VALUES.get(typedKey);
  if (parse === undefined) throw new Error('unreachable: typed key without parser');
  return parse(text, where);
}

function parseLong(text: string, where: Where): WireValue {
  const big = DECIMAL_INT.test(text) ? BigInt(text) : null;
  if (big === null || big < INT64_MIN || big > INT64_MAX) {
    fail('invalid_value', `"$long" must be a decimal 64-bit signed integer, got ${JSON.stringify(text.slice(0, 40))}`, where);
  }
  return { t: 'l', v: big.toString() };
}

function parseBytes(text: string, where: Where): WireValue {
  if (!BASE64.test(text)) fail('invalid_value', '"$bytes" must be base64', where);
  // Canonical form: standard alphabet, padded, so equal bytes are equal values everywhere.
  return { t: 'y', v: Buffer.from(text, 'base64').toString('base64') };
}

function parseInstant(text: string, where: Where): WireValue {
  const ms = parseIsoInstant(text);
  if (ms === null) {
    fail('invalid_value', `"$instant" must be an ISO-8601 date or date-time with offset, got ${JSON.stringify(text.slice(0, 40))}`, where);
  }
  return { t: 'i', v: ms };
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/**
 * Epoch ms of an ISO-8601 instant, or null. Our own grammar rather than Date.parse, which accepts many
 * non-ISO forms and rolls invalid dates over. A date-time needs an offset (a local time is ambiguous);
 * a bare date is UTC midnight. Digits beyond milliseconds are truncated.
 */
export function parseIsoInstant(text: string): number | null {
  const m = ISO_INSTANT.exec(text);
  if (m === null) return null;
  const part = (i: number): number => Number(m[i] ?? 0);
  const [year, month, day, hour, minute, second] = [part(1), part(2), part(3), part(4), part(5), part(6)];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const offsetMinutes = parseOffset(m[8]);
  if (offsetMinutes === null) return null;
  const millis = Number(((m[7] ?? '') + '000').slice(0, 3));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, years 0–99 are not mapped to 19xx
  date.setUTCHours(hour, minute, second, millis);
  const ms = date.getTime() - offsetMinutes * 60_000;
  return Number.isFinite(ms) && Math.abs(ms) <= INSTANT_MS_MAX ? ms : null;
}

function parseOffset(text: string | undefined): number | null {
  if (text === undefined || text.toUpperCase() === 'Z') return 0;
  const digits = text.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (hours > 23 || minutes > 59) return null;
  return (text[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

function jsonValue(v: unknown, where: Where): WireValue {
  try {
    return { t: 'j', v: canonicalize(v, 0) };
  } catch (err) {
    if (err instanceof JsonShapeError) fail('invalid_value', err.message, where);
    throw err;
  }
}

class JsonShapeError extends TypeError {}

function canonicalize(v: unknown, depth: number): string {
  if (depth > JSON_DEPTH_MAX) throw new JsonShapeError(`JSON values nest at most ${JSON_DEPTH_MAX} levels`);
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new JsonShapeError('JSON numbers must be finite');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) {
    const items: string[] = [];
    for (let i = 0; i < v.length; i++) items.push(canonicalize(v[i], depth + 1));
    return `[${items.join(',')}]`;
  }
  if (isPlainObject(v)) {
    // Default sort = UTF-16 code unit order, as in RFC 8785 (JSON Canonicalization Scheme).
    const members = Object.keys(v)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalize(v[key], depth + 1)}`);
    return `{${members.join(',')}}`;
  }
  throw new JsonShapeError('not a JSON value');
}

/**
 * Canonical JSON text: object keys sorted recursively, no whitespace, so equal values have equal text.
 * Throws TypeError on what is not JSON (undefined, NaN, class instances) or nests deeper than JSON_DEPTH_MAX.
 */
export function canonicalJson(v: unknown): string {
  return canonicalize(v, 0);
}

/** DESIGN §4 `where=attr:value`: the value is JSON when it parses as JSON, else the raw string. */
export function parseWhereValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

// ---------------------------------------------------------------------------------------------------
// Normalized form → JSON output
// ---------------------------------------------------------------------------------------------------

/**
 * The JSON output form of a value: strings, booleans and numbers plain; integers as numbers when they
 * are safe, else {"$long"}; {"$instant": ISO UTC with ms}; {"$bytes": base64}; JSON values parsed.
 */
export function valueToJson(v: Value): unknown {
  switch (v.t) {
    case 's':
    case 'b':
    case 'n':
      return v.v;
    case 'l': {
      const n = Number(v.v);
      return Number.isSafeInteger(n) ? n : { $long: v.v };
    }
    case 'i':
      return { $instant: new Date(v.v).toISOString() };
    case 'y':
      return { $bytes: v.v };
    case 'j':
      return JSON.parse(v.v) as unknown;
  }
}

/** Same forms as valueToJson: WireValue has the shape of Value. */
export function wireValueToJson(v: WireValue): unknown {
  return valueToJson(v);
}

/** The JSON op shape of DESIGN §3. */
export function opToJson(op: Op): JsonObject {
  switch (op.op) {
    case 'set':
    case 'add':
    case 'retract':
      return { op: op.op, id: op.id, attr: op.attr, value: wireValueToJson(op.value) };
    case 'expect': {
      const v = op.value;
      const value = v === null ? null : Array.isArray(v) ? v.map(wireValueToJson) : wireValueToJson(v);
      return { op: 'expect', id: op.id, attr: op.attr, value };
    }
    case 'defineType':
      return { op: 'defineType', type: op.type, kind: op.kind, required: [...op.required] };
    case 'defineView':
      return { op: 'defineView', name: op.name, query: JSON.parse(op.query) as unknown };
    default:
      return { ...op };
  }
}

/** The change shapes of DESIGN §4 (diffs, history, SSE). */
export function changeToJson(c: Change): JsonObject {
  switch (c.kind) {
    case 'created':
      return c.entity === 'edge'
        ? { kind: 'created', id: c.id, type: c.type, entity: 'edge', from: c.from, to: c.to }
        : { kind: 'created', id: c.id, type: c.type, entity: 'node' };
    case 'terminated':
      return { kind: 'terminated', id: c.id };
    case 'set':
      return { kind: 'set', id: c.id, attr: c.attr, old: nullableValue(c.old), new: nullableValue(c.new) };
    case 'added':
    case 'retracted':
      return { kind: c.kind, id: c.id, attr: c.attr, value: valueToJson(c.value) };
    case 'schema':
      return schemaChangeToJson(c);
  }
}

function nullableValue(v: Value | null): unknown {
  return v === null ? null : valueToJson(v);
}

function schemaChangeToJson(c: Extract<Change, { kind: 'schema' }>): JsonObject {
  if ('attr' in c) return { kind: 'schema', attr: c.attr, definition: c.definition === null ? null : { ...c.definition } };
  if ('type' in c) {
    const definition = c.definition === null ? null : { kind: c.definition.kind, required: [...c.definition.required] };
    return { kind: 'schema', type: c.type, definition };
  }
  return { kind: 'schema', view: c.view, definition: c.definition === null ? null : { query: JSON.parse(c.definition.query) as unknown } };
}

function errorToJson(e: TxError): JsonObject {
  return { code: e.code, message: e.message, op: e.op };
}

/**
 * A tx report as the log view and SSE show it: {offset, time, status, id, meta, ops, error?,
 * originalOffset?, changes}. `originalOffset` appears only on duplicate_tx aborts.
 */
export function reportToJson(r: TxReport): JsonObject {
  const out: JsonObject = {
    offset: r.offset,
    time: new Date(r.timeMs).toISOString(),
    status: r.status,
    id: r.id,
    meta: { ...r.meta },
    ops: r.ops.map(opToJson),
  };
  if (r.error !== undefined) out.error = errorToJson(r.error);
  if (r.originalOffset !== undefined) out.originalOffset = r.originalOffset;
  out.changes = r.changes.map(changeToJson);
  return out;
}
