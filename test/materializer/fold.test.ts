// Unit tests of the pure fold: each abort rule of DESIGN §3 and the net changes it reports.
// The input is a plain in-memory FoldInput holding the state a prefetch would have loaded.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Op, TxInput, WireValue } from '../../src/core/types.js';
import { valueIdentity } from '../../src/core/values.js';
import { foldTx } from '../../src/materializer/fold.js';
import { emptySchema, isLive, type EntityState, type FoldInput, type Schema } from '../../src/materializer/state.js';

/** A whole graph held in memory; applying fold results to it advances it like the materializer does. */
class MemoryGraph implements FoldInput {
  schema: Schema = emptySchema();
  entities = new Map<string, EntityState>();
  keys = new Map<string, number>();
  offset = 0;

  entity(id: string) {
    return this.entities.get(id);
  }
  liveEdges(nodeId: string) {
    return [...this.entities.values()].filter((e) => isLive(e) && e.kind === 'edge' && (e.from === nodeId || e.to === nodeId)).map((e) => e.id).sort();
  }
  private live() {
    return [...this.entities.values()].filter(isLive);
  }
  uniqueHolders(attr: string, identity: string) {
    return this.live().filter((e) => e.attrs.get(attr)?.some((v) => valueIdentity(v) === identity)).map((e) => e.id);
  }
  attrHolders(attr: string) {
    return this.live().filter((e) => e.attrs.has(attr)).map((e) => e.id);
  }
  typeMembers(type: string) {
    return this.live().filter((e) => e.type === type).map((e) => e.id);
  }
  committedOffsetOfKey(key: string) {
    return this.keys.get(key);
  }

  tx(ops: Op[], id: string | null = null) {
    const tx: TxInput = { id, meta: {}, ops };
    const offset = this.offset++;
    const result = foldTx(this, tx, offset);
    if (result.status === 'committed') {
      for (const e of result.entities) this.entities.set(e.id, e);
      if (result.schema) this.schema = result.schema;
      if (id !== null) this.keys.set(id, offset);
    }
    return result;
  }
}

const s = (v: string): WireValue => ({ t: 's', v });
const l = (v: number): WireValue => ({ t: 'l', v: String(v) });

function seeded(): MemoryGraph {
  const g = new MemoryGraph();
  const r = g.tx([
    { op: 'create', id: 'a', type: 'T' },
    { op: 'create', id: 'b', type: 'T' },
    { op: 'link', id: 'ab', type: 'E', from: 'a', to: 'b' },
  ]);
  assert.equal(r.status, 'committed');
  return g;
}

describe('fold', () => {
  it('commits creates and links and reports them in order', () => {
    const g = new MemoryGraph();
    const r = g.tx([{ op: 'create', id: 'a', type: 'T' }, { op: 'set', id: 'a', attr: 'x', value: l(1) }]);
    assert.equal(r.status, 'committed');
    assert.deepEqual(r.changes, [
      { kind: 'created', id: 'a', type: 'T', entity: 'node' },
      { kind: 'set', id: 'a', attr: 'x', old: null, new: { t: 'n', v: 1 } },
    ]);
  });

  it('never reuses ids, even after termination', () => {
    const g = seeded();
    assert.equal(g.tx([{ op: 'terminate', id: 'a' }]).status, 'committed');
    const r = g.tx([{ op: 'create', id: 'a', type: 'T' }]);
    assert.equal(r.error?.code, 'entity_exists');
    assert.equal(r.error?.op, 0);
  });

  it('an aborted create leaves the id free', () => {
    const g = new MemoryGraph();
    assert.equal(g.tx([{ op: 'create', id: 'z', type: 'T' }, { op: 'terminate', id: 'nope' }]).error?.code, 'entity_not_found');
    assert.equal(g.tx([{ op: 'create', id: 'z', type: 'T' }]).status, 'committed');
  });

  it('checks link endpoints in order: id, from, to', () => {
    const g = seeded();
    assert.equal(g.tx([{ op: 'link', id: 'e2', type: 'E', from: 'missing', to: 'ab' }]).error?.code, 'entity_not_found');
    assert.equal(g.tx([{ op: 'link', id: 'e2', type: 'E', from: 'a', to: 'ab' }]).error?.code, 'type_mismatch');
    g.tx([{ op: 'terminate', id: 'b' }]);
    assert.equal(g.tx([{ op: 'link', id: 'e2', type: 'E', from: 'a', to: 'b' }]).error?.code, 'entity_terminated');
  });

  it('terminating a node terminates its edges in the same tx', () => {
    const g = seeded();
    const r = g.tx([{ op: 'link', id: 'ba', type: 'E', from: 'b', to: 'a' }, { op: 'terminate', id: 'a' }]);
    assert.equal(r.status, 'committed');
    // The edge created and terminated within the tx is absent from the net changes.
    assert.deepEqual(r.changes, [{ kind: 'terminated', id: 'ab' }, { kind: 'terminated', id: 'a' }]);
    assert.equal(g.entity('ab')?.terminatedAt, 1);
    assert.equal(g.entity('ba')?.terminatedAt, 1);
  });

  it('treats redundant facts as no-ops', () => {
    const g = seeded();
    g.tx([{ op: 'set', id: 'a', attr: 'x', value: s('v') }]);
    const r = g.tx([{ op: 'set', id: 'a', attr: 'x', value: s('v') }, { op: 'unset', id: 'a', attr: 'y' }]);
    assert.equal(r.status, 'committed');
    assert.deepEqual(r.changes, []);
  });

  it('enforces cardinality and value types from the schema', () => {
    const g = seeded();
    g.tx([{ op: 'defineAttr', attr: 'tags', valueType: 'string', cardinality: 'many', unique: false }]);
    assert.equal(g.tx([{ op: 'set', id: 'a', attr: 'tags', value: s('x') }]).error?.code, 'cardinality_mismatch');
    assert.equal(g.tx([{ op: 'add', id: 'a', attr: 'plain', value: s('x') }]).error?.code, 'cardinality_mismatch');
    assert.equal(g.tx([{ op: 'add', id: 'a', attr: 'tags', value: l(3) }]).error?.code, 'type_mismatch');
    const r = g.tx([{ op: 'add', id: 'a', attr: 'tags', value: s('b') }, { op: 'add', id: 'a', attr: 'tags', value: s('a') }]);
    assert.deepEqual(g.entity('a')?.attrs.get('tags'), [{ t: 's', v: 'a' }, { t: 's', v: 'b' }]);
    assert.equal(r.changes.length, 2);
  });

  it('rejects unique conflicts against live holders only', () => {
    const g = seeded();
    g.tx([{ op: 'defineAttr', attr: 'email', valueType: 'string', cardinality: 'one', unique: true }]);
    g.tx([{ op: 'set', id: 'a', attr: 'email', value: s('x@y') }]);
    assert.equal(g.tx([{ op: 'set', id: 'b', attr: 'email', value: s('x@y') }]).error?.code, 'unique_conflict');
    g.tx([{ op: 'terminate', id: 'a' }]);
    assert.equal(g.tx([{ op: 'set', id: 'b', attr: 'email', value: s('x@y') }]).status, 'committed');
  });

  it('evaluates expect as compare-and-set, null meaning absent', () => {
    const g = seeded();
    assert.equal(g.tx([{ op: 'expect', id: 'a', attr: 'x', value: null }]).status, 'committed');
    assert.equal(g.tx([{ op: 'expect', id: 'nobody', attr: 'x', value: null }]).status, 'committed');
    g.tx([{ op: 'set', id: 'a', attr: 'x', value: l(5) }]);
    assert.equal(g.tx([{ op: 'expect', id: 'a', attr: 'x', value: l(5) }]).status, 'committed');
    const r = g.tx([{ op: 'set', id: 'a', attr: 'x', value: l(6) }, { op: 'expect', id: 'a', attr: 'x', value: l(5) }]);
    assert.equal(r.error?.code, 'precondition_failed');
    assert.equal(r.error?.op, 1);
  });

  it('checks required attributes at the end of the tx', () => {
    const g = new MemoryGraph();
    g.tx([{ op: 'defineType', type: 'Order', kind: 'node', required: ['status'] }]);
    const bad = g.tx([{ op: 'create', id: 'o', type: 'Order' }]);
    assert.equal(bad.error?.code, 'required_missing');
    assert.equal(bad.error?.op, 0);
    const ok = g.tx([{ op: 'create', id: 'o', type: 'Order' }, { op: 'set', id: 'o', attr: 'status', value: s('open') }]);
    assert.equal(ok.status, 'committed');
  });

  it('refuses redefinitions that live data violates', () => {
    const g = seeded();
    g.tx([{ op: 'set', id: 'a', attr: 'n', value: s('text') }]);
    assert.equal(g.tx([{ op: 'defineAttr', attr: 'n', valueType: 'long', cardinality: 'one', unique: false }]).error?.code, 'schema_conflict');
    assert.equal(g.tx([{ op: 'defineType', type: 'T', kind: 'node', required: ['n'] }]).error?.code, 'schema_conflict');
    assert.equal(g.tx([{ op: 'defineType', type: 'T', kind: 'edge', required: [] }]).error?.code, 'schema_conflict');
  });

  it('records a committed idempotency key and aborts its repeats', () => {
    const g = new MemoryGraph();
    assert.equal(g.tx([{ op: 'create', id: 'a', type: 'T' }], 'k1').status, 'committed');
    const dup = g.tx([{ op: 'create', id: 'b', type: 'T' }], 'k1');
    assert.equal(dup.error?.code, 'duplicate_tx');
    assert.equal(dup.originalOffset, 0);
  });
});
