// Value semantics shared by the fold and the query layer: identity, order, conformance to a schema
// type and coercion of a published (wire) value into the stored form.

import type { AttrDefinition, Value, ValueType, WireValue } from './types.js';

const TYPE_RANK: Record<Value['t'], number> = { b: 0, n: 1, l: 1, s: 2, i: 3, y: 4, j: 5 };

function isNumeric(v: Value): v is { t: 'n'; v: number } | { t: 'l'; v: string } {
  return v.t === 'n' || v.t === 'l';
}

function numericCompare(a: { t: 'n' | 'l'; v: number | string }, b: { t: 'n' | 'l'; v: number | string }): number {
  if (a.t === 'n' && b.t === 'n') return (a.v as number) - (b.v as number);
  // A long beyond 2^53: compare exactly when both are integral, else through doubles.
  const ai = a.t === 'l' || Number.isInteger(a.v) ? BigInt(a.v) : null;
  const bi = b.t === 'l' || Number.isInteger(b.v) ? BigInt(b.v) : null;
  if (ai !== null && bi !== null) return ai < bi ? -1 : ai > bi ? 1 : 0;
  return Number(a.v) - Number(b.v);
}

/** Total order used for cardinality-many arrays: numbers numerically, strings by UTF-16 code units. */
export function compareValues(a: Value, b: Value): number {
  const rank = TYPE_RANK[a.t] - TYPE_RANK[b.t];
  if (rank !== 0) return rank;
  if (isNumeric(a) && isNumeric(b)) return numericCompare(a, b);
  if (a.t === 'b' || a.t === 'i') return Number(a.v) - Number(b.v);
  const av = String(a.v);
  const bv = String(b.v);
  return av < bv ? -1 : av > bv ? 1 : 0;
}

/**
 * Canonical identity of a value as a string: equal values (5 as a long and 5 as a double included)
 * have the same identity. Used for no-op detection, `expect`, unique checks and set membership.
 */
export function valueIdentity(v: Value): string {
  switch (v.t) {
    case 'n':
      return Number.isSafeInteger(v.v) ? `n:${v.v}` : `n:${v.v.toString()}`;
    case 'l':
      return `n:${BigInt(v.v).toString()}`;
    default:
      return `${v.t}:${String(v.v)}`;
  }
}

export function valuesEqual(a: Value | null, b: Value | null): boolean {
  if (a === null || b === null) return a === b;
  return valueIdentity(a) === valueIdentity(b);
}

export function sortValues(values: Value[]): Value[] {
  return values.sort(compareValues);
}

function integralOf(w: WireValue): Value | null {
  if (w.t === 'l') return normalizeLong(w.v);
  if (w.t === 'n' && Number.isInteger(w.v) && Number.isSafeInteger(w.v)) return { t: 'n', v: w.v };
  return null;
}

/** A long that fits a double exactly is stored as `n`, so 5 has one stored form. */
function normalizeLong(decimal: string): Value {
  const n = Number(decimal);
  return Number.isSafeInteger(n) ? { t: 'n', v: n } : { t: 'l', v: BigInt(decimal).toString() };
}

/**
 * Coerces a published value to the stored form under an attribute definition (undefined = untyped).
 * Returns null when the value does not conform: the fold aborts with `type_mismatch`.
 */
export function coerceValue(w: WireValue, def: AttrDefinition | undefined): Value | null {
  const valueType: ValueType | 'untyped' = def?.valueType ?? 'untyped';
  switch (valueType) {
    case 'untyped':
      if (w.t === 'j') return null; // arrays and objects need valueType json
      return w.t === 'l' ? normalizeLong(w.v) : w;
    case 'string':
      return w.t === 's' ? w : null;
    case 'long':
      return integralOf(w);
    case 'double':
      return w.t === 'n' ? w : w.t === 'l' ? { t: 'n', v: Number(w.v) } : null;
    case 'boolean':
      return w.t === 'b' ? w : null;
    case 'instant':
      if (w.t === 'i') return w;
      if (w.t === 's' && /^\d{4}-\d{2}-\d{2}T/.test(w.v) && Number.isFinite(Date.parse(w.v))) return { t: 'i', v: Date.parse(w.v) };
      return null;
    case 'bytes':
      return w.t === 'y' ? w : null;
    case 'json':
      return { t: 'j', v: jsonTextOf(w) };
  }
}

function jsonTextOf(w: WireValue): string {
  switch (w.t) {
    case 'j':
      return w.v;
    case 's':
      return JSON.stringify(w.v);
    case 'l':
      return Number.isSafeInteger(Number(w.v)) ? String(Number(w.v)) : w.v;
    case 'n':
      return JSON.stringify(w.v);
    case 'b':
      return String(w.v);
    case 'i':
      return JSON.stringify(new Date(w.v).toISOString());
    case 'y':
      return JSON.stringify(w.v);
  }
}

/** Whether a stored value conforms to a (re)definition: the check behind `schema_conflict`. */
export function conforms(v: Value, valueType: ValueType): boolean {
  switch (valueType) {
    case 'string':
      return v.t === 's';
    case 'long':
      return v.t === 'l' || (v.t === 'n' && Number.isInteger(v.v));
    case 'double':
      return v.t === 'n' || v.t === 'l';
    case 'boolean':
      return v.t === 'b';
    case 'instant':
      return v.t === 'i';
    case 'bytes':
      return v.t === 'y';
    case 'json':
      return true; // every stored value is JSON-representable
  }
}
