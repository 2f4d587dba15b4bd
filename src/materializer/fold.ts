// The deterministic fold: (prefetched state, tx) → outcome, net changes and new entity states.
// Pure and synchronous: no clock, no I/O, no dependence on Map iteration order for output.

import { netChanges } from '../core/changes.js';
import type { AbortCode, AttrDefinition, Change, Op, TxError, TxInput, TypeDefinition, Value, WireValue } from '../core/types.js';
import { coerceValue, compareValues, conforms, valueIdentity, valuesEqual } from '../core/values.js';
import { cloneEntity, cloneSchema, isLive, type EntityState, type FoldInput, type Schema } from './state.js';

export interface FoldResult {
  status: 'committed' | 'aborted';
  error?: TxError;
  originalOffset?: number;
  /** Net changes of the tx (empty when aborted). */
  changes: Change[];
  /** Final states of the entities the tx changed, in first-change order. */
  entities: EntityState[];
  /** The schema after the tx when the tx changed it. */
  schema?: Schema;
}

class Abort extends Error {
  constructor(readonly code: AbortCode, message: string) {
    super(message);
  }
}

function abort(code: AbortCode, message: string): never {
  throw new Abort(code, message);
}

/** Working state of one tx: copy-on-write entities and schema over the prefetched input. */
class TxContext {
  readonly overlay = new Map<string, EntityState>();
  readonly changedOrder = new Map<string, number>(); // id → index of the first op that changed it
  readonly raw: Change[] = [];
  readonly createdEdges = new Map<string, string[]>(); // node → edges created in this tx
  schema: Schema;
  schemaChanged = false;
  opIndex = 0;

  constructor(readonly input: FoldInput, readonly offset: number) {
    this.schema = input.schema;
  }

  get(id: string): EntityState | undefined {
    return this.overlay.get(id) ?? this.input.entity(id);
  }

  /** The entity, checked live; `role` names the field for the message. */
  live(id: string, role: string): EntityState {
    const e = this.get(id);
    if (!e) abort('entity_not_found', `${role} ${JSON.stringify(id)} does not exist`);
    if (e.terminatedAt !== null) abort('entity_terminated', `${role} ${JSON.stringify(id)} was terminated at offset ${e.terminatedAt}`);
    return e;
  }

  mutable(id: string): EntityState {
    let e = this.overlay.get(id);
    if (!e) {
      e = cloneEntity(this.input.entity(id)!);
      this.overlay.set(id, e);
    }
    return e;
  }

  changed(id: string, change: Change): void {
    if (!this.changedOrder.has(id)) this.changedOrder.set(id, this.opIndex);
    this.raw.push(change);
  }

  attrDef(attr: string): AttrDefinition | undefined {
    return this.schema.attrs.get(attr);
  }

  editSchema(): Schema {
    if (!this.schemaChanged) {
      this.schema = cloneSchema(this.schema);
      this.schemaChanged = true;
    }
    return this.schema;
  }

  /** Ids whose state may differ from the input: union of prefetched candidates and this tx's overlay. */
  candidates(base: string[]): string[] {
    const ids = new Set(base);
    for (const id of this.overlay.keys()) ids.add(id);
    return [...ids].sort();
  }

  liveEdges(nodeId: string): string[] {
    const ids = new Set([...this.input.liveEdges(nodeId), ...(this.createdEdges.get(nodeId) ?? [])]);
    return [...ids].filter((id) => isLive(this.get(id))).sort();
  }
}

function checkEndpoint(ctx: TxContext, id: string, role: 'from' | 'to'): void {
  const e = ctx.live(id, role);
  if (e.kind !== 'node') abort('type_mismatch', `${role} ${JSON.stringify(id)} is an edge, not a node`);
}

function checkUnused(ctx: TxContext, id: string): void {
  if (ctx.get(id)) abort('entity_exists', `id ${JSON.stringify(id)} is already used (ids are never reused)`);
}

function checkKind(ctx: TxContext, type: string, kind: 'node' | 'edge'): void {
  const def = ctx.schema.types.get(type);
  if (def && def.kind !== kind) abort('type_mismatch', `type ${JSON.stringify(type)} is defined as a ${def.kind} type`);
}

function applyCreate(ctx: TxContext, op: Op & { op: 'create' }): void {
  checkUnused(ctx, op.id);
  checkKind(ctx, op.type, 'node');
  ctx.overlay.set(op.id, { id: op.id, kind: 'node', type: op.type, createdAt: ctx.offset, terminatedAt: null, attrs: new Map() });
  ctx.changed(op.id, { kind: 'created', id: op.id, type: op.type, entity: 'node' });
}

function applyLink(ctx: TxContext, op: Op & { op: 'link' }): void {
  checkUnused(ctx, op.id);
  checkEndpoint(ctx, op.from, 'from');
  checkEndpoint(ctx, op.to, 'to');
  checkKind(ctx, op.type, 'edge');
  ctx.overlay.set(op.id, {
    id: op.id, kind: 'edge', type: op.type, from: op.from, to: op.to, createdAt: ctx.offset, terminatedAt: null, attrs: new Map(),
  });
  for (const node of new Set([op.from, op.to])) ctx.createdEdges.set(node, [...(ctx.createdEdges.get(node) ?? []), op.id]);
  ctx.changed(op.id, { kind: 'created', id: op.id, type: op.type, entity: 'edge', from: op.from, to: op.to });
}

function checkCardinality(ctx: TxContext, attr: string, want: 'one' | 'many', opName: string): AttrDefinition | undefined {
  const def = ctx.attrDef(attr);
  const has = def?.cardinality ?? 'one';
  if (has !== want) abort('cardinality_mismatch', `${opName} needs a cardinality-${want} attribute; ${JSON.stringify(attr)} is cardinality-${has}`);
  return def;
}

function coerceOrAbort(w: WireValue, attr: string, def: AttrDefinition | undefined): Value {
  const v = coerceValue(w, def);
  if (v === null) abort('type_mismatch', `value does not conform to ${JSON.stringify(attr)} (${def?.valueType ?? 'untyped: string, number or boolean'})`);
  return v;
}

function checkUnique(ctx: TxContext, id: string, attr: string, def: AttrDefinition | undefined, v: Value): void {
  if (!def?.unique) return;
  const identity = valueIdentity(v);
  for (const other of ctx.candidates(ctx.input.uniqueHolders(attr, identity))) {
    if (other === id) continue;
    const e = ctx.get(other);
    if (isLive(e) && e.attrs.get(attr)?.some((x) => valueIdentity(x) === identity)) {
      abort('unique_conflict', `${JSON.stringify(other)} already holds this value of unique attribute ${JSON.stringify(attr)}`);
    }
  }
}

function applySet(ctx: TxContext, op: Op & { op: 'set' }): void {
  ctx.live(op.id, 'entity');
  const def = checkCardinality(ctx, op.attr, 'one', 'set');
  const v = coerceOrAbort(op.value, op.attr, def);
  checkUnique(ctx, op.id, op.attr, def, v);
  const old = ctx.get(op.id)!.attrs.get(op.attr)?.[0] ?? null;
  if (valuesEqual(old, v)) return; // redundant facts are not recorded
  ctx.mutable(op.id).attrs.set(op.attr, [v]);
  ctx.changed(op.id, { kind: 'set', id: op.id, attr: op.attr, old, new: v });
}

function applyUnset(ctx: TxContext, op: Op & { op: 'unset' }): void {
  ctx.live(op.id, 'entity');
  checkCardinality(ctx, op.attr, 'one', 'unset');
  const old = ctx.get(op.id)!.attrs.get(op.attr)?.[0] ?? null;
  if (old === null) return;
  ctx.mutable(op.id).attrs.delete(op.attr);
  ctx.changed(op.id, { kind: 'set', id: op.id, attr: op.attr, old, new: null });
}

function applyAddRetract(ctx: TxContext, op: Op & { op: 'add' | 'retract' }): void {
  ctx.live(op.id, 'entity');
  const def = checkCardinality(ctx, op.attr, 'many', op.op);
  const v = coerceOrAbort(op.value, op.attr, def);
  if (op.op === 'add') checkUnique(ctx, op.id, op.attr, def, v);
  const current = ctx.get(op.id)!.attrs.get(op.attr) ?? [];
  const identity = valueIdentity(v);
  const present = current.some((x) => valueIdentity(x) === identity);
  if (present === (op.op === 'add')) return; // adding a present value / retracting an absent one
  const next = op.op === 'add' ? [...current, v].sort(compareValues) : current.filter((x) => valueIdentity(x) !== identity);
  const attrs = ctx.mutable(op.id).attrs;
  if (next.length === 0) attrs.delete(op.attr);
  else attrs.set(op.attr, next);
  ctx.changed(op.id, { kind: op.op === 'add' ? 'added' : 'retracted', id: op.id, attr: op.attr, value: v });
}

function expectedIdentities(ctx: TxContext, op: Op & { op: 'expect' }, def: AttrDefinition | undefined): string[] | null {
  const raw = op.value === null ? [] : Array.isArray(op.value) ? op.value : [op.value];
  const ids: string[] = [];
  for (const w of raw) {
    const v = coerceValue(w, def);
    if (v === null) return null; // a value the attribute cannot hold never equals the current one
    ids.push(valueIdentity(v));
  }
  return [...new Set(ids)].sort();
}

function applyExpect(ctx: TxContext, op: Op & { op: 'expect' }): void {
  const e = ctx.get(op.id);
  const current = isLive(e) ? (e.attrs.get(op.attr) ?? []) : [];
  const def = ctx.attrDef(op.attr);
  const expected = expectedIdentities(ctx, op, def);
  const actual = [...new Set(current.map(valueIdentity))].sort();
  const equal = expected !== null && expected.length === actual.length && expected.every((x, i) => x === actual[i]);
  if (!equal) abort('precondition_failed', `expected ${JSON.stringify(op.attr)} of ${JSON.stringify(op.id)} to equal the given value`);
}

function terminateOne(ctx: TxContext, id: string): void {
  ctx.mutable(id).terminatedAt = ctx.offset;
  ctx.changed(id, { kind: 'terminated', id });
}

function applyTerminate(ctx: TxContext, op: Op & { op: 'terminate' }): void {
  const e = ctx.live(op.id, 'entity');
  if (e.kind === 'node') for (const edge of ctx.liveEdges(op.id)) terminateOne(ctx, edge);
  terminateOne(ctx, op.id);
}

function sameAttrDef(a: AttrDefinition | undefined, b: AttrDefinition): boolean {
  return !!a && a.valueType === b.valueType && a.cardinality === b.cardinality && a.unique === b.unique;
}

function checkAttrRedefinition(ctx: TxContext, attr: string, def: AttrDefinition): void {
  const seen = new Map<string, string>();
  for (const id of ctx.candidates(ctx.input.attrHolders(attr))) {
    const e = ctx.get(id);
    const values = isLive(e) ? e.attrs.get(attr) : undefined;
    if (!values) continue;
    const conflict = (why: string): never => abort('schema_conflict', `cannot redefine ${JSON.stringify(attr)}: ${JSON.stringify(id)} ${why}`);
    if (def.cardinality === 'one' && values.length > 1) conflict('holds several values');
    for (const v of values) {
      if (!conforms(v, def.valueType)) conflict(`holds a value that is not ${def.valueType}`);
      if (def.unique) {
        const holder = seen.get(valueIdentity(v));
        if (holder !== undefined && holder !== id) conflict(`shares a value with ${JSON.stringify(holder)}`);
        seen.set(valueIdentity(v), id);
      }
    }
  }
}

function applyDefineAttr(ctx: TxContext, op: Op & { op: 'defineAttr' }): void {
  const def: AttrDefinition = { valueType: op.valueType, cardinality: op.cardinality, unique: op.unique };
  if (sameAttrDef(ctx.attrDef(op.attr), def)) return;
  checkAttrRedefinition(ctx, op.attr, def);
  ctx.editSchema().attrs.set(op.attr, def);
  ctx.raw.push({ kind: 'schema', attr: op.attr, definition: def });
}

function applyDefineType(ctx: TxContext, op: Op & { op: 'defineType' }): void {
  const def: TypeDefinition = { kind: op.kind, required: [...new Set(op.required)].sort() };
  const prior = ctx.schema.types.get(op.type);
  if (prior && prior.kind === def.kind && prior.required.join('\u0000') === def.required.join('\u0000')) return;
  for (const id of ctx.candidates(ctx.input.typeMembers(op.type))) {
    const e = ctx.get(id);
    if (!isLive(e) || e.type !== op.type) continue;
    if (e.kind !== def.kind) abort('schema_conflict', `cannot define ${JSON.stringify(op.type)} as ${def.kind}: ${JSON.stringify(id)} is a ${e.kind}`);
    const missing = def.required.find((attr) => !e.attrs.has(attr));
    if (missing) abort('schema_conflict', `cannot require ${JSON.stringify(missing)} on ${JSON.stringify(op.type)}: ${JSON.stringify(id)} lacks it`);
  }
  ctx.editSchema().types.set(op.type, def);
  ctx.raw.push({ kind: 'schema', type: op.type, definition: def });
}

/**
 * A view is (re)defined like an attribute: an identical definition is a no-op, a different query is a
 * new definition from this offset on (its rows are recomputed there). The query was checked statically
 * before the tx reached the log (or the record became an invalid_record abort), so nothing can fail here.
 */
function applyDefineView(ctx: TxContext, op: Op & { op: 'defineView' }): void {
  if (ctx.schema.views.get(op.name)?.query === op.query) return;
  const definition = { query: op.query };
  ctx.editSchema().views.set(op.name, definition);
  ctx.raw.push({ kind: 'schema', view: op.name, definition });
}

/** Retiring a view that is not defined is a no-op, like unsetting an absent attribute. */
function applyRetireView(ctx: TxContext, op: Op & { op: 'retireView' }): void {
  if (!ctx.schema.views.has(op.name)) return;
  ctx.editSchema().views.delete(op.name);
  ctx.raw.push({ kind: 'schema', view: op.name, definition: null });
}

function applyOp(ctx: TxContext, op: Op): void {
  switch (op.op) {
    case 'create': return applyCreate(ctx, op);
    case 'link': return applyLink(ctx, op);
    case 'set': return applySet(ctx, op);
    case 'unset': return applyUnset(ctx, op);
    case 'add':
    case 'retract': return applyAddRetract(ctx, op);
    case 'expect': return applyExpect(ctx, op);
    case 'terminate': return applyTerminate(ctx, op);
    case 'defineAttr': return applyDefineAttr(ctx, op);
    case 'defineType': return applyDefineType(ctx, op);
    case 'defineView': return applyDefineView(ctx, op);
    case 'retireView': return applyRetireView(ctx, op);
  }
}

/** Every live entity the tx created or changed must carry its type's required attributes. */
function checkRequired(ctx: TxContext): void {
  for (const [id, opIndex] of ctx.changedOrder) {
    const e = ctx.get(id)!;
    if (!isLive(e)) continue;
    const missing = ctx.schema.types.get(e.type)?.required.find((attr) => !e.attrs.has(attr));
    if (missing) {
      ctx.opIndex = opIndex;
      abort('required_missing', `${JSON.stringify(id)} of type ${JSON.stringify(e.type)} lacks required attribute ${JSON.stringify(missing)}`);
    }
  }
}

function aborted(error: TxError, originalOffset?: number): FoldResult {
  return { status: 'aborted', error, changes: [], entities: [], ...(originalOffset === undefined ? {} : { originalOffset }) };
}

/** Folds one decoded tx at `offset`. */
export function foldTx(input: FoldInput, tx: TxInput, offset: number): FoldResult {
  if (tx.id !== null) {
    const original = input.committedOffsetOfKey(tx.id);
    if (original !== undefined) {
      return aborted({ code: 'duplicate_tx', message: `transaction id ${JSON.stringify(tx.id)} already committed at offset ${original}`, op: null }, original);
    }
  }
  const ctx = new TxContext(input, offset);
  try {
    for (let i = 0; i < tx.ops.length; i++) {
      ctx.opIndex = i;
      applyOp(ctx, tx.ops[i]);
    }
    checkRequired(ctx);
  } catch (err) {
    if (err instanceof Abort) return aborted({ code: err.code, message: err.message, op: ctx.opIndex });
    throw err;
  }
  return {
    status: 'committed',
    changes: netChanges(ctx.raw, { attr: (n) => input.schema.attrs.get(n), type: (n) => input.schema.types.get(n), view: (n) => input.schema.views.get(n) }),
    entities: [...ctx.changedOrder.keys()].map((id) => ctx.overlay.get(id)!),
    ...(ctx.schemaChanged ? { schema: ctx.schema } : {}),
  };
}

/** An undecodable record: recorded as an abort at its offset so the fold never stalls. */
export function invalidRecord(reason: string): FoldResult {
  return aborted({ code: 'invalid_record', message: `undecodable record: ${reason}`, op: null });
}
