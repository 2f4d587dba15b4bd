// A deliberately naive reference fold of DESIGN.md §3–§4, written from the contract alone (never from
// src/materializer or src/query): every published tx is folded into plain Maps, a deep copy of the whole
// graph is kept after every offset, and every read is answered from those copies in the JSON shapes of §4.
//
// Readings of DESIGN.md that the document leaves open, chosen here and listed in the test report:
//  R1  Values are JSON strings, numbers and booleans only. A value conforms to `long` iff it is an integer
//      number, to `double` iff it is any number (so `3` is a valid double), `string`/`boolean` likewise.
//      Equality is JSON equality (2 and 2.0 are one value).
//  R2  `set`/`add`/`retract` check, after the entity id: the attribute's cardinality, then the value's type,
//      then uniqueness (a no-op needs no unique check since the entity itself holds the value).
//  R3  `required_missing` is found at the end of the tx; `error.op` is the index of the first op of the tx
//      that targeted (created or changed) the offending entity; with several offenders, the smallest index.
//  R4  `duplicate_tx` (and any abort not caused by one op) carries `error.op = null`.
//  R5  `defineAttr` conflicts when a live entity holds a value that does not conform to the new value type,
//      when the cardinality changes while any live entity holds a value of that attribute, or when `unique`
//      is requested while two live entities share a value. `defineType` conflicts when a live entity of that
//      type has another kind or lacks a required attribute (an emptied many-attribute counts as absent).
//      Both are checked at the op, against the state the earlier ops of the tx produced.
//  R6  `create` of a type defined with kind `edge` (or `link` of a node type) is a `type_mismatch`.
//  R7  A redefinition identical to the current definition is a no-op and produces no schema change.
//  R8  A self-loop edge (from = to) is allowed; it appears in both `out` and `in` of its node.
//  R9  `expect` on a cardinality-many attribute takes an array (or null); a scalar is compared as a
//      one-element set. `expect` does not check value types: a value of another type simply differs.
//  R10 `where=attr:value` on a cardinality-many attribute matches when the value is one of the entity's values.
//  R11 Listings are compared as sets of ids (the contract gives no order); many-values sort numerically
//      for numbers, by code unit for strings, false < true for booleans.
//  R12 Schema changes are net like everything else: a definition is reported only when it differs between
//      the two slices (per tx: between the slice before and after the tx). An entity created and terminated
//      in one tx has no net change, so its history is served (200) and empty.
//  R13 Filtered diffs (`id=`, `type=`) are compared on entity changes only; whether schema changes pass a
//      filter is not specified. `type=` selects changes of entities of that type.
//  R14 The embedded log's offsets are dense from 0; a duplicate's reply carries the original offset while
//      its own record takes the next offset.

export type Scalar = string | number | boolean;
export type ValueType = 'string' | 'long' | 'double' | 'boolean';

export interface AttrDef {
  valueType: ValueType;
  cardinality: 'one' | 'many';
  unique: boolean;
}
export interface TypeDef {
  kind: 'node' | 'edge';
  required: string[];
}

/** The JSON body of a published transaction, as sent over HTTP. */
export type OpJson =
  | { op: 'create'; id: string; type: string }
  | { op: 'link'; id: string; type: string; from: string; to: string }
  | { op: 'set'; id: string; attr: string; value: Scalar }
  | { op: 'unset'; id: string; attr: string }
  | { op: 'add'; id: string; attr: string; value: Scalar }
  | { op: 'retract'; id: string; attr: string; value: Scalar }
  | { op: 'expect'; id: string; attr: string; value: Scalar | Scalar[] | null }
  | { op: 'terminate'; id: string }
  | { op: 'defineAttr'; attr: string; valueType: ValueType; cardinality: 'one' | 'many'; unique: boolean }
  | { op: 'defineType'; type: string; kind: 'node' | 'edge'; required: string[] };

export interface TxBody {
  id?: string;
  meta?: Record<string, string>;
  ops: OpJson[];
}

export type AbortCode =
  | 'entity_exists'
  | 'entity_not_found'
  | 'entity_terminated'
  | 'type_mismatch'
  | 'cardinality_mismatch'
  | 'unique_conflict'
  | 'precondition_failed'
  | 'required_missing'
  | 'schema_conflict'
  | 'duplicate_tx';

export const ABORT_CODES: readonly AbortCode[] = [
  'entity_exists',
  'entity_not_found',
  'entity_terminated',
  'type_mismatch',
  'cardinality_mismatch',
  'unique_conflict',
  'precondition_failed',
  'required_missing',
  'schema_conflict',
  'duplicate_tx',
];

export type Outcome =
  | { status: 'committed' }
  | { status: 'aborted'; code: AbortCode; op: number | null; originalOffset?: number };

/** Diff change shapes of §4, in their JSON form. */
export type ChangeJson =
  | { kind: 'created'; id: string; type: string; entity: 'node' }
  | { kind: 'created'; id: string; type: string; entity: 'edge'; from: string; to: string }
  | { kind: 'terminated'; id: string }
  | { kind: 'set'; id: string; attr: string; old: Scalar | null; new: Scalar | null }
  | { kind: 'added' | 'retracted'; id: string; attr: string; value: Scalar }
  | { kind: 'schema'; attr: string; definition: AttrDef | null }
  | { kind: 'schema'; type: string; definition: TypeDef | null };

export interface NodeJson {
  id: string;
  kind: 'node';
  type: string;
  createdAt: number;
  attrs: Record<string, Scalar | Scalar[]>;
  out: { id: string; type: string; to: string }[];
  in: { id: string; type: string; from: string }[];
}
export interface EdgeJson {
  id: string;
  kind: 'edge';
  type: string;
  createdAt: number;
  from: string;
  to: string;
  attrs: Record<string, Scalar | Scalar[]>;
}
export type EntityJson = NodeJson | EdgeJson;

export interface HistoryEntryJson {
  offset: number;
  time: string;
  change: ChangeJson;
}

/** One entity as the fold holds it; `attrs` values are a scalar (one) or a Set (many, never empty). */
interface Ent {
  id: string;
  kind: 'node' | 'edge';
  type: string;
  createdAt: number;
  from?: string;
  to?: string;
  terminatedAt?: number;
  attrs: Map<string, Scalar | Set<Scalar>>;
}

/** The whole graph after some offset. Terminated entities stay (ids are never reused) but are flagged. */
interface State {
  entities: Map<string, Ent>;
  attrDefs: Map<string, AttrDef>;
  typeDefs: Map<string, TypeDef>;
  committedKeys: Map<string, number>;
}

/**
 * A slice as plain data, comparable after a diff is applied: live entities (without createdAt, which no
 * change shape carries) and the schema.
 */
export interface Slice {
  entities: Map<string, SliceEntity>;
  attrDefs: Map<string, AttrDef>;
  typeDefs: Map<string, TypeDef>;
}
export interface SliceEntity {
  id: string;
  kind: 'node' | 'edge';
  type: string;
  from?: string;
  to?: string;
  /** one → scalar; many → array (treated as a set). */
  attrs: Map<string, Scalar | Scalar[]>;
}

export interface TxRecord {
  offset: number;
  timeMs: number;
  body: TxBody;
  outcome: Outcome;
  /** Net changes of this tx alone (empty when aborted). */
  changes: ChangeJson[];
}

class Abort extends Error {
  constructor(
    readonly code: AbortCode,
    readonly op: number | null,
  ) {
    super(`${code} at op ${op}`);
  }
}

function emptyState(): State {
  return { entities: new Map(), attrDefs: new Map(), typeDefs: new Map(), committedKeys: new Map() };
}

function cloneState(s: State): State {
  const entities = new Map<string, Ent>();
  for (const [id, e] of s.entities) {
    const attrs = new Map<string, Scalar | Set<Scalar>>();
    for (const [a, v] of e.attrs) attrs.set(a, v instanceof Set ? new Set(v) : v);
    entities.set(id, { ...e, attrs });
  }
  const typeDefs = new Map<string, TypeDef>();
  for (const [t, d] of s.typeDefs) typeDefs.set(t, { kind: d.kind, required: [...d.required] });
  return {
    entities,
    attrDefs: new Map([...s.attrDefs].map(([a, d]) => [a, { ...d }])),
    typeDefs,
    committedKeys: new Map(s.committedKeys),
  };
}

export function conforms(value: Scalar, valueType: ValueType): boolean {
  switch (valueType) {
    case 'string':
      return typeof value === 'string';
    case 'long':
      return typeof value === 'number' && Number.isInteger(value);
    case 'double':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
  }
}

/** Sort order of many-values (R11). Values of one many-attribute share a value type. */
export function compareScalars(a: Scalar, b: Scalar): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  if (typeof a !== typeof b) return typeof a < typeof b ? -1 : 1;
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function isLive(e: Ent | undefined): e is Ent {
  return e !== undefined && e.terminatedAt === undefined;
}

function hasValue(e: Ent, attr: string, value: Scalar): boolean {
  const cur = e.attrs.get(attr);
  if (cur === undefined) return false;
  return cur instanceof Set ? cur.has(value) : cur === value;
}

/** The fold of one tx over a working copy; throws Abort on the first failing op. */
class TxFold {
  /** Entity id → index of the first op of this tx that targeted it (R3). */
  readonly touched = new Map<string, number>();
  constructor(
    readonly s: State,
    readonly offset: number,
  ) {}

  run(ops: OpJson[]): void {
    ops.forEach((op, i) => this.apply(op, i));
    this.checkRequired();
  }

  private touch(id: string, i: number): void {
    if (!this.touched.has(id)) this.touched.set(id, i);
  }

  /** The id check shared by set/unset/add/retract/terminate. */
  private existing(id: string, i: number): Ent {
    const e = this.s.entities.get(id);
    if (e === undefined) throw new Abort('entity_not_found', i);
    if (e.terminatedAt !== undefined) throw new Abort('entity_terminated', i);
    return e;
  }

  private endpoint(id: string, i: number): void {
    const e = this.existing(id, i);
    if (e.kind !== 'node') throw new Abort('type_mismatch', i);
  }

  private apply(op: OpJson, i: number): void {
    switch (op.op) {
      case 'create':
      case 'link':
        return this.create(op, i);
      case 'set':
        return this.set(op.id, op.attr, op.value, i);
      case 'unset':
        return this.unset(op.id, op.attr, i);
      case 'add':
      case 'retract':
        return this.addRetract(op.op, op.id, op.attr, op.value, i);
      case 'expect':
        return this.expect(op.id, op.attr, op.value, i);
      case 'terminate':
        return this.terminate(op.id, i);
      case 'defineAttr':
        return this.defineAttr(op, i);
      case 'defineType':
        return this.defineType(op, i);
    }
  }

  private create(op: Extract<OpJson, { op: 'create' | 'link' }>, i: number): void {
    if (this.s.entities.has(op.id)) throw new Abort('entity_exists', i);
    const kind = op.op === 'create' ? 'node' : 'edge';
    if (op.op === 'link') {
      this.endpoint(op.from, i);
      this.endpoint(op.to, i);
    }
    const def = this.s.typeDefs.get(op.type);
    if (def !== undefined && def.kind !== kind) throw new Abort('type_mismatch', i); // R6
    const e: Ent = { id: op.id, kind, type: op.type, createdAt: this.offset, attrs: new Map() };
    if (op.op === 'link') {
      e.from = op.from;
      e.to = op.to;
    }
    this.s.entities.set(op.id, e);
    this.touch(op.id, i);
  }

  private set(id: string, attr: string, value: Scalar, i: number): void {
    const e = this.existing(id, i);
    const def = this.s.attrDefs.get(attr);
    if (def?.cardinality === 'many') throw new Abort('cardinality_mismatch', i);
    if (def !== undefined && !conforms(value, def.valueType)) throw new Abort('type_mismatch', i);
    this.touch(id, i);
    if (e.attrs.get(attr) === value) return; // no-op
    if (def?.unique && this.heldByOther(id, attr, value)) throw new Abort('unique_conflict', i);
    e.attrs.set(attr, value);
  }

  private unset(id: string, attr: string, i: number): void {
    const e = this.existing(id, i);
    if (this.s.attrDefs.get(attr)?.cardinality === 'many') throw new Abort('cardinality_mismatch', i);
    this.touch(id, i);
    e.attrs.delete(attr);
  }

  private addRetract(kind: 'add' | 'retract', id: string, attr: string, value: Scalar, i: number): void {
    const e = this.existing(id, i);
    const def = this.s.attrDefs.get(attr);
    if (def === undefined || def.cardinality !== 'many') throw new Abort('cardinality_mismatch', i);
    if (!conforms(value, def.valueType)) throw new Abort('type_mismatch', i);
    this.touch(id, i);
    const cur = e.attrs.get(attr);
    const set = cur instanceof Set ? cur : new Set<Scalar>();
    if (kind === 'add') {
      if (set.has(value)) return;
      if (def.unique && this.heldByOther(id, attr, value)) throw new Abort('unique_conflict', i);
      set.add(value);
      e.attrs.set(attr, set);
    } else {
      if (!set.delete(value)) return;
      if (set.size === 0) e.attrs.delete(attr);
    }
  }

  private heldByOther(id: string, attr: string, value: Scalar): boolean {
    for (const other of this.s.entities.values()) {
      if (other.id !== id && isLive(other) && hasValue(other, attr, value)) return true;
    }
    return false;
  }

  private expect(id: string, attr: string, value: Scalar | Scalar[] | null, i: number): void {
    const e = this.s.entities.get(id);
    const cur = isLive(e) ? e.attrs.get(attr) : undefined;
    const many = this.s.attrDefs.get(attr)?.cardinality === 'many';
    let ok: boolean;
    if (many) {
      const want = new Set<Scalar>(value === null ? [] : Array.isArray(value) ? value : [value]); // R9
      const have = cur instanceof Set ? cur : new Set<Scalar>();
      ok = want.size === have.size && [...want].every((v) => have.has(v));
    } else if (value === null) {
      ok = cur === undefined;
    } else {
      ok = !Array.isArray(value) && cur === value;
    }
    if (!ok) throw new Abort('precondition_failed', i);
  }

  private terminate(id: string, i: number): void {
    const e = this.existing(id, i);
    e.terminatedAt = this.offset;
    if (e.kind !== 'node') return;
    for (const edge of this.s.entities.values()) {
      if (edge.kind === 'edge' && isLive(edge) && (edge.from === id || edge.to === id)) edge.terminatedAt = this.offset;
    }
  }

  private defineAttr(op: Extract<OpJson, { op: 'defineAttr' }>, i: number): void {
    const old = this.s.attrDefs.get(op.attr);
    const oldCardinality = old?.cardinality ?? 'one';
    const seen = new Set<Scalar>();
    for (const e of this.s.entities.values()) {
      const cur = isLive(e) ? e.attrs.get(op.attr) : undefined;
      if (cur === undefined) continue;
      if (op.cardinality !== oldCardinality) throw new Abort('schema_conflict', i);
      for (const v of cur instanceof Set ? cur : [cur]) {
        if (!conforms(v, op.valueType)) throw new Abort('schema_conflict', i);
        if (op.unique && seen.has(v)) throw new Abort('schema_conflict', i);
      }
      for (const v of cur instanceof Set ? cur : [cur]) seen.add(v);
    }
    this.s.attrDefs.set(op.attr, { valueType: op.valueType, cardinality: op.cardinality, unique: op.unique });
  }

  private defineType(op: Extract<OpJson, { op: 'defineType' }>, i: number): void {
    for (const e of this.s.entities.values()) {
      if (!isLive(e) || e.type !== op.type) continue;
      if (e.kind !== op.kind) throw new Abort('schema_conflict', i);
      if (op.required.some((a) => !e.attrs.has(a))) throw new Abort('schema_conflict', i);
    }
    this.s.typeDefs.set(op.type, { kind: op.kind, required: [...op.required] });
  }

  private checkRequired(): void {
    let worst: number | null = null;
    for (const [id, i] of this.touched) {
      const e = this.s.entities.get(id);
      if (!isLive(e)) continue;
      const def = this.s.typeDefs.get(e.type);
      if (def === undefined || def.required.every((a) => e.attrs.has(a))) continue;
      if (worst === null || i < worst) worst = i;
    }
    if (worst !== null) throw new Abort('required_missing', worst);
  }
}

// ---------------------------------------------------------------------------------------------------
// Slices and net changes

function toSlice(s: State): Slice {
  const entities = new Map<string, SliceEntity>();
  for (const e of s.entities.values()) {
    if (!isLive(e)) continue;
    const attrs = new Map<string, Scalar | Scalar[]>();
    for (const [a, v] of e.attrs) attrs.set(a, v instanceof Set ? [...v].sort(compareScalars) : v);
    const se: SliceEntity = { id: e.id, kind: e.kind, type: e.type, attrs };
    if (e.kind === 'edge') {
      se.from = e.from;
      se.to = e.to;
    }
    entities.set(e.id, se);
  }
  const typeDefs = new Map<string, TypeDef>();
  for (const [t, d] of s.typeDefs) typeDefs.set(t, { kind: d.kind, required: [...d.required].sort() });
  return { entities, attrDefs: new Map([...s.attrDefs].map(([a, d]) => [a, { ...d }])), typeDefs };
}

function sameDef(a: AttrDef | TypeDef | undefined, b: AttrDef | TypeDef | undefined): boolean {
  return canonical(a ?? null) === canonical(b ?? null);
}

/**
 * The net changes that turn slice `a` into slice `b`, computed by comparing the two slices (so it is
 * symmetric: the inverse diff is `diffSlices(b, a)`). Per entity: created first, terminated alone.
 */
export function diffSlices(a: Slice, b: Slice): ChangeJson[] {
  const out: ChangeJson[] = [];
  for (const name of sortedUnion(a.attrDefs.keys(), b.attrDefs.keys())) {
    const da = a.attrDefs.get(name);
    const db = b.attrDefs.get(name);
    if (!sameDef(da, db)) out.push({ kind: 'schema', attr: name, definition: db ?? null });
  }
  for (const name of sortedUnion(a.typeDefs.keys(), b.typeDefs.keys())) {
    const da = a.typeDefs.get(name);
    const db = b.typeDefs.get(name);
    if (!sameDef(da, db)) out.push({ kind: 'schema', type: name, definition: db ?? null });
  }
  for (const id of sortedUnion(a.entities.keys(), b.entities.keys())) {
    const ea = a.entities.get(id);
    const eb = b.entities.get(id);
    if (ea !== undefined && eb === undefined) {
      out.push({ kind: 'terminated', id });
      continue;
    }
    if (eb === undefined) continue;
    if (ea === undefined) {
      out.push(
        eb.kind === 'node'
          ? { kind: 'created', id, type: eb.type, entity: 'node' }
          : { kind: 'created', id, type: eb.type, entity: 'edge', from: eb.from!, to: eb.to! },
      );
    }
    out.push(...attrChanges(id, ea?.attrs ?? new Map(), eb.attrs));
  }
  return out;
}

function attrChanges(id: string, a: Map<string, Scalar | Scalar[]>, b: Map<string, Scalar | Scalar[]>): ChangeJson[] {
  const out: ChangeJson[] = [];
  for (const attr of sortedUnion(a.keys(), b.keys())) {
    const va = a.get(attr);
    const vb = b.get(attr);
    if (Array.isArray(va) || Array.isArray(vb)) {
      const sa = new Set(Array.isArray(va) ? va : []);
      const sb = new Set(Array.isArray(vb) ? vb : []);
      for (const v of [...sb].filter((x) => !sa.has(x)).sort(compareScalars)) out.push({ kind: 'added', id, attr, value: v });
      for (const v of [...sa].filter((x) => !sb.has(x)).sort(compareScalars)) out.push({ kind: 'retracted', id, attr, value: v });
    } else if (va !== vb) {
      out.push({ kind: 'set', id, attr, old: va ?? null, new: vb ?? null });
    }
  }
  return out;
}

function sortedUnion(a: Iterable<string>, b: Iterable<string>): string[] {
  return [...new Set([...a, ...b])].sort();
}

/**
 * Applies diff changes in order to a copy of `slice`, strictly: every change must be applicable (created
 * only when absent, set only when `old` is the current value, added only when absent, …). A node's
 * termination does not cascade here: the diff must list its edges' terminations itself. Throws with a
 * description of the first inapplicable change.
 */
export function applyDiff(slice: Slice, changes: readonly ChangeJson[]): Slice {
  const s = cloneSlice(slice);
  changes.forEach((c, i) => {
    const fail = (why: string): never => {
      throw new Error(`change #${i} ${JSON.stringify(c)} not applicable: ${why}`);
    };
    if (c.kind === 'schema') {
      if ('attr' in c) {
        if (c.definition === null) s.attrDefs.delete(c.attr);
        else s.attrDefs.set(c.attr, normAttrDef(c.definition));
      } else if (c.definition === null) s.typeDefs.delete(c.type);
      else s.typeDefs.set(c.type, normTypeDef(c.definition));
      return;
    }
    const e = s.entities.get(c.id);
    if (c.kind === 'created') {
      if (e !== undefined) fail('entity already present');
      const ne: SliceEntity = { id: c.id, kind: c.entity, type: c.type, attrs: new Map() };
      if (c.entity === 'edge') {
        ne.from = c.from;
        ne.to = c.to;
      }
      s.entities.set(c.id, ne);
      return;
    }
    if (e === undefined) return fail('entity absent');
    if (c.kind === 'terminated') {
      s.entities.delete(c.id);
    } else if (c.kind === 'set') {
      const cur = e.attrs.get(c.attr);
      if (Array.isArray(cur)) fail('set on a many-valued attribute');
      if ((cur ?? null) !== c.old) fail(`old is ${JSON.stringify(cur ?? null)}`);
      if (c.new === null) e.attrs.delete(c.attr);
      else e.attrs.set(c.attr, c.new);
    } else {
      const cur = e.attrs.get(c.attr);
      if (cur !== undefined && !Array.isArray(cur)) fail('added/retracted on a one-valued attribute');
      const values = new Set<Scalar>(Array.isArray(cur) ? cur : []);
      if (c.kind === 'added') {
        if (values.has(c.value)) fail('value already present');
        values.add(c.value);
      } else if (!values.delete(c.value)) fail('value absent');
      if (values.size === 0) e.attrs.delete(c.attr);
      else e.attrs.set(c.attr, [...values].sort(compareScalars));
    }
  });
  return s;
}

function normAttrDef(d: AttrDef): AttrDef {
  return { valueType: d.valueType, cardinality: d.cardinality, unique: d.unique };
}
function normTypeDef(d: TypeDef): TypeDef {
  return { kind: d.kind, required: [...d.required].sort() };
}

function cloneSlice(s: Slice): Slice {
  const entities = new Map<string, SliceEntity>();
  for (const [id, e] of s.entities) {
    entities.set(id, { ...e, attrs: new Map([...e.attrs].map(([a, v]) => [a, Array.isArray(v) ? [...v] : v])) });
  }
  return {
    entities,
    attrDefs: new Map([...s.attrDefs].map(([a, d]) => [a, normAttrDef(d)])),
    typeDefs: new Map([...s.typeDefs].map(([t, d]) => [t, normTypeDef(d)])),
  };
}

/** A canonical JSON text of a slice (sorted keys and ids), for equality checks and readable failures. */
export function sliceToJson(s: Slice): unknown {
  const ents: Record<string, unknown> = {};
  for (const id of [...s.entities.keys()].sort()) {
    const e = s.entities.get(id)!;
    const attrs: Record<string, unknown> = {};
    for (const a of [...e.attrs.keys()].sort()) {
      const v = e.attrs.get(a)!;
      attrs[a] = Array.isArray(v) ? [...v].sort(compareScalars) : v;
    }
    ents[id] = { kind: e.kind, type: e.type, from: e.from ?? null, to: e.to ?? null, attrs };
  }
  const attrDefs: Record<string, unknown> = {};
  for (const a of [...s.attrDefs.keys()].sort()) attrDefs[a] = normAttrDef(s.attrDefs.get(a)!);
  const typeDefs: Record<string, unknown> = {};
  for (const t of [...s.typeDefs.keys()].sort()) typeDefs[t] = normTypeDef(s.typeDefs.get(t)!);
  return { entities: ents, attrDefs, typeDefs };
}

export function slicesEqual(a: Slice, b: Slice): boolean {
  return canonical(sliceToJson(a)) === canonical(sliceToJson(b));
}

/** JSON with object keys sorted at every level: a stable text for comparisons. */
export function canonical(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .filter((k) => o[k] !== undefined)
        .map((k) => [k, sortKeys(o[k])]),
    );
  }
  return v;
}

/** A canonical text of one change, for multiset comparison; schema definitions are normalized. */
export function changeKey(c: ChangeJson): string {
  if (c.kind === 'schema') {
    if ('attr' in c) return canonical({ kind: 'schema', attr: c.attr, definition: c.definition && normAttrDef(c.definition) });
    return canonical({ kind: 'schema', type: c.type, definition: c.definition && normTypeDef(c.definition) });
  }
  return canonical(c);
}

/** Multiset difference of two change lists: what is only in `a` and what is only in `b`. */
export function changeMultisetDiff(a: readonly ChangeJson[], b: readonly ChangeJson[]): { onlyA: string[]; onlyB: string[] } {
  const count = new Map<string, number>();
  for (const c of a) count.set(changeKey(c), (count.get(changeKey(c)) ?? 0) + 1);
  for (const c of b) count.set(changeKey(c), (count.get(changeKey(c)) ?? 0) - 1);
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  for (const [k, n] of count) {
    for (let i = 0; i < n; i++) onlyA.push(k);
    for (let i = 0; i < -n; i++) onlyB.push(k);
  }
  return { onlyA, onlyB };
}

/**
 * Checks the per-entity order rule of §4 on a change list: an entity's `created` comes before its other
 * changes and its `terminated` after them. Returns a description of the first violation, or null.
 */
export function checkChangeOrder(changes: readonly ChangeJson[]): string | null {
  const seen = new Map<string, 'created' | 'other' | 'terminated'>();
  for (const c of changes) {
    if (c.kind === 'schema') continue;
    const prev = seen.get(c.id);
    if (prev === 'terminated') return `change after terminated for ${c.id}: ${JSON.stringify(c)}`;
    if (c.kind === 'created' && prev !== undefined) return `created is not first for ${c.id}`;
    seen.set(c.id, c.kind === 'created' ? 'created' : c.kind === 'terminated' ? 'terminated' : 'other');
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------
// The reference log: published txs, their outcomes, and every read of §4 as of an offset.

export class ReferenceModel {
  private readonly states: State[] = [];
  readonly txs: TxRecord[] = [];
  private readonly slices = new Map<number, Slice>();

  /** The offset the next published tx gets (the embedded log's offsets are dense from 0). */
  get nextOffset(): number {
    return this.txs.length;
  }
  get latestOffset(): number {
    return this.txs.length - 1;
  }

  private stateAt(offset: number): State {
    if (offset < 0) return emptyState();
    const s = this.states[offset];
    if (s === undefined) throw new Error(`no tx at offset ${offset}`);
    return s;
  }

  /** Folds what `body` would do on top of the latest state, without recording it. */
  preview(body: TxBody): { outcome: Outcome; changes: ChangeJson[] } {
    return this.fold(this.stateAt(this.latestOffset), body, this.nextOffset).result;
  }

  /**
   * Folds the next published tx. `timeMs` is its tx time as the engine reported it (the model cannot know
   * the log's clock); it defaults to the previous tx time.
   */
  publish(body: TxBody, timeMs?: number): TxRecord {
    const offset = this.nextOffset;
    const prevTime = offset > 0 ? this.txs[offset - 1]!.timeMs : 0;
    const { next, result } = this.fold(this.stateAt(offset - 1), body, offset);
    this.states.push(next);
    const rec: TxRecord = { offset, timeMs: timeMs ?? prevTime, body, ...result };
    this.txs.push(rec);
    return rec;
  }

  /** Sets a tx time learnt later (e.g. from GET /transactions/:offset for an aborted tx). */
  setTime(offset: number, timeMs: number): void {
    this.txs[offset]!.timeMs = timeMs;
  }

  private fold(prev: State, body: TxBody, offset: number): { next: State; result: { outcome: Outcome; changes: ChangeJson[] } } {
    if (body.id !== undefined && prev.committedKeys.has(body.id)) {
      const originalOffset = prev.committedKeys.get(body.id)!;
      return { next: prev, result: { outcome: { status: 'aborted', code: 'duplicate_tx', op: null, originalOffset }, changes: [] } };
    }
    const work = cloneState(prev);
    try {
      new TxFold(work, offset).run(body.ops);
    } catch (err) {
      if (!(err instanceof Abort)) throw err;
      return { next: prev, result: { outcome: { status: 'aborted', code: err.code, op: err.op }, changes: [] } };
    }
    if (body.id !== undefined) work.committedKeys.set(body.id, offset);
    return { next: work, result: { outcome: { status: 'committed' }, changes: diffSlices(toSlice(prev), toSlice(work)) } };
  }

  /** The slice as of `offset` (-1 = the empty graph before the first tx). */
  sliceAt(offset: number): Slice {
    let s = this.slices.get(offset);
    if (s === undefined) {
      s = toSlice(this.stateAt(offset));
      this.slices.set(offset, s);
    }
    return s;
  }

  /** Every id ever used in any op of any published tx (committed or not). */
  allIds(): string[] {
    const ids = new Set<string>();
    for (const t of this.txs) {
      for (const op of t.body.ops) {
        if ('id' in op) ids.add(op.id);
        if (op.op === 'link') {
          ids.add(op.from);
          ids.add(op.to);
        }
      }
    }
    return [...ids].sort();
  }

  /** Ids of entities live at the latest offset or ever created, as of `offset`. */
  createdIds(offset: number): string[] {
    return [...this.stateAt(offset).entities.keys()].sort();
  }

  liveIds(offset: number): string[] {
    return [...this.sliceAt(offset).entities.keys()].sort();
  }

  typesUsed(): string[] {
    const types = new Set<string>();
    for (const s of this.states) for (const e of s.entities.values()) types.add(e.type);
    return [...types].sort();
  }

  /** The type of an entity created at or before `at` (live or not), undefined if never created. */
  typeOf(id: string, at: number): string | undefined {
    return this.stateAt(at).entities.get(id)?.type;
  }

  /** GET /entities/:id?at=X without `basis`; null = 404. */
  entity(id: string, at: number): EntityJson | null {
    const s = this.stateAt(at);
    const e = s.entities.get(id);
    if (!isLive(e)) return null;
    const attrs: Record<string, Scalar | Scalar[]> = {};
    for (const a of [...e.attrs.keys()].sort()) {
      const v = e.attrs.get(a)!;
      attrs[a] = v instanceof Set ? [...v].sort(compareScalars) : v;
    }
    if (e.kind === 'edge') {
      return { id, kind: 'edge', type: e.type, createdAt: e.createdAt, from: e.from!, to: e.to!, attrs };
    }
    const out: NodeJson['out'] = [];
    const inn: NodeJson['in'] = [];
    for (const edge of s.entities.values()) {
      if (edge.kind !== 'edge' || !isLive(edge)) continue;
      if (edge.from === id) out.push({ id: edge.id, type: edge.type, to: edge.to! });
      if (edge.to === id) inn.push({ id: edge.id, type: edge.type, from: edge.from! });
    }
    out.sort((x, y) => (x.id < y.id ? -1 : 1));
    inn.sort((x, y) => (x.id < y.id ? -1 : 1));
    return { id, kind: 'node', type: e.type, createdAt: e.createdAt, attrs, out, in: inn };
  }

  /** GET /entities?type=&where=… as of `at`: the matching entities sorted by id (R10, R11). */
  list(at: number, filter: { type?: string; where?: { attr: string; value: Scalar }[] }): EntityJson[] {
    const s = this.stateAt(at);
    const ids = [...s.entities.values()]
      .filter((e) => isLive(e))
      .filter((e) => filter.type === undefined || e.type === filter.type)
      .filter((e) => (filter.where ?? []).every((w) => hasValue(e, w.attr, w.value)))
      .map((e) => e.id)
      .sort();
    return ids.map((id) => this.entity(id, at)!);
  }

  /** GET /entities/:id/history?at=X: null = 404 (never created at or before X). */
  history(id: string, at: number): HistoryEntryJson[] | null {
    if (!this.stateAt(at).entities.has(id)) return null;
    const out: HistoryEntryJson[] = [];
    for (const t of this.txs.slice(0, at + 1)) {
      for (const c of t.changes) {
        if (c.kind !== 'schema' && c.id === id) out.push({ offset: t.offset, time: new Date(t.timeMs).toISOString(), change: c });
      }
    }
    return out;
  }

  /** GET /diff?from=A&to=B: the net changes turning slice A into slice B. */
  diff(from: number, to: number): ChangeJson[] {
    return diffSlices(this.sliceAt(from), this.sliceAt(to));
  }

  /** asOf=T: the latest offset whose tx time is at or before T (-1 when none). */
  offsetAsOf(timeMs: number): number {
    let best = -1;
    for (const t of this.txs) if (t.timeMs <= timeMs) best = t.offset;
    return best;
  }

  /** Ids of entities created and terminated strictly inside (min, max]: they must not appear in a diff. */
  transientIds(a: number, b: number): string[] {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    const sa = this.sliceAt(lo);
    const sb = this.sliceAt(hi);
    return this.createdIds(hi).filter((id) => !this.stateAt(lo).entities.has(id) && !sb.entities.has(id) && !sa.entities.has(id));
  }
}

/** `where=attr:value` parsing of §4: split at the first colon, JSON when it parses, else a string. */
export function parseWhere(raw: string): { attr: string; value: Scalar } {
  const i = raw.indexOf(':');
  const attr = raw.slice(0, i);
  const text = raw.slice(i + 1);
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { attr, value: v };
  } catch {
    // not JSON: taken as a string
  }
  return { attr, value: text };
}
