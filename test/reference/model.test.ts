// Hand-written scenarios for the reference fold: one or more per abort reason code of DESIGN.md §3, the
// no-op rules, cascading termination, id reuse, idempotency, reads as of an offset, diffs and history.
// They pin the model to the contract by example, so the differential tests stand on checked ground.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ReferenceModel,
  applyDiff,
  changeMultisetDiff,
  checkChangeOrder,
  parseWhere,
  slicesEqual,
  sliceToJson,
  type OpJson,
  type Outcome,
  type TxBody,
} from './model.js';
import { generateTxs, mulberry32 } from './generator.js';

const SCHEMA: OpJson[] = [
  { op: 'defineAttr', attr: 'tags', valueType: 'string', cardinality: 'many', unique: false },
  { op: 'defineAttr', attr: 'email', valueType: 'string', cardinality: 'one', unique: true },
  { op: 'defineAttr', attr: 'qty', valueType: 'long', cardinality: 'one', unique: false },
  { op: 'defineAttr', attr: 'price', valueType: 'double', cardinality: 'one', unique: false },
  { op: 'defineAttr', attr: 'codes', valueType: 'long', cardinality: 'many', unique: true },
  { op: 'defineType', type: 'Order', kind: 'node', required: ['status'] },
];

/** A model holding the schema above and two live customers c1, c2 (offset 0 and 1). */
function base(): ReferenceModel {
  const m = new ReferenceModel();
  expectCommitted(m.publish({ ops: SCHEMA }, 1000).outcome);
  expectCommitted(
    m.publish(
      {
        ops: [
          { op: 'create', id: 'c1', type: 'Customer' },
          { op: 'create', id: 'c2', type: 'Customer' },
        ],
      },
      1001,
    ).outcome,
  );
  return m;
}

function expectCommitted(o: Outcome): void {
  assert.deepEqual(o, { status: 'committed' });
}
function expectAbort(o: Outcome, code: string, op: number | null): void {
  assert.equal(o.status, 'aborted', `expected ${code} at op ${op}, got committed`);
  if (o.status === 'aborted') assert.deepEqual({ code: o.code, op: o.op }, { code, op });
}
function tx(m: ReferenceModel, ops: OpJson[], id?: string): Outcome {
  const body: TxBody = { ops };
  if (id !== undefined) body.id = id;
  return m.publish(body).outcome;
}

test('entity_exists: live id, terminated id (never reused), edge id, and an id created earlier in the tx', () => {
  const m = base();
  expectAbort(tx(m, [{ op: 'create', id: 'c1', type: 'Customer' }]), 'entity_exists', 0);
  expectCommitted(tx(m, [{ op: 'terminate', id: 'c2' }]));
  expectAbort(tx(m, [{ op: 'set', id: 'c1', attr: 'a', value: 1 }, { op: 'create', id: 'c2', type: 'X' }]), 'entity_exists', 1);
  expectCommitted(tx(m, [{ op: 'create', id: 'c3', type: 'Customer' }, { op: 'link', id: 'l1', type: 'likes', from: 'c1', to: 'c3' }]));
  expectAbort(tx(m, [{ op: 'link', id: 'c3', type: 'likes', from: 'c1', to: 'c1' }]), 'entity_exists', 0);
  expectAbort(tx(m, [{ op: 'create', id: 'l1', type: 'Customer' }]), 'entity_exists', 0);
  expectAbort(tx(m, [{ op: 'create', id: 'x', type: 'T' }, { op: 'create', id: 'x', type: 'T' }]), 'entity_exists', 1);
});

test('entity_not_found and entity_terminated on every op that names an entity', () => {
  const m = base();
  expectCommitted(tx(m, [{ op: 'create', id: 'dead', type: 'T' }]));
  expectCommitted(tx(m, [{ op: 'terminate', id: 'dead' }]));
  const cases: [OpJson, string][] = [
    [{ op: 'set', id: 'nope', attr: 'a', value: 1 }, 'entity_not_found'],
    [{ op: 'unset', id: 'nope', attr: 'a' }, 'entity_not_found'],
    [{ op: 'add', id: 'nope', attr: 'tags', value: 'x' }, 'entity_not_found'],
    [{ op: 'retract', id: 'nope', attr: 'tags', value: 'x' }, 'entity_not_found'],
    [{ op: 'terminate', id: 'nope' }, 'entity_not_found'],
    [{ op: 'link', id: 'e1', type: 'likes', from: 'nope', to: 'c1' }, 'entity_not_found'],
    [{ op: 'link', id: 'e1', type: 'likes', from: 'c1', to: 'nope' }, 'entity_not_found'],
    [{ op: 'set', id: 'dead', attr: 'a', value: 1 }, 'entity_terminated'],
    [{ op: 'unset', id: 'dead', attr: 'a' }, 'entity_terminated'],
    [{ op: 'add', id: 'dead', attr: 'tags', value: 'x' }, 'entity_terminated'],
    [{ op: 'retract', id: 'dead', attr: 'tags', value: 'x' }, 'entity_terminated'],
    [{ op: 'terminate', id: 'dead' }, 'entity_terminated'],
    [{ op: 'link', id: 'e1', type: 'likes', from: 'dead', to: 'c1' }, 'entity_terminated'],
    [{ op: 'link', id: 'e1', type: 'likes', from: 'c1', to: 'dead' }, 'entity_terminated'],
  ];
  for (const [op, code] of cases) {
    expectAbort(tx(m, [{ op: 'set', id: 'c1', attr: 'n', value: 1 }, op]), code, 1);
  }
  // Field order: id, then from, then to. A bad `from` wins over a bad `to`; a used id wins over both.
  expectAbort(tx(m, [{ op: 'link', id: 'e1', type: 'likes', from: 'nope', to: 'dead' }]), 'entity_not_found', 0);
  expectAbort(tx(m, [{ op: 'link', id: 'e1', type: 'likes', from: 'dead', to: 'nope' }]), 'entity_terminated', 0);
  expectAbort(tx(m, [{ op: 'link', id: 'c2', type: 'likes', from: 'dead', to: 'nope' }]), 'entity_exists', 0);
  // A node terminated earlier in the same tx is terminated for the ops after it.
  expectAbort(tx(m, [{ op: 'terminate', id: 'c2' }, { op: 'set', id: 'c2', attr: 'a', value: 1 }]), 'entity_terminated', 1);
});

test('type_mismatch: an edge as link endpoint, and values that do not fit defineAttr', () => {
  const m = base();
  expectCommitted(tx(m, [{ op: 'link', id: 'e1', type: 'likes', from: 'c1', to: 'c2' }]));
  expectAbort(tx(m, [{ op: 'link', id: 'e2', type: 'likes', from: 'e1', to: 'c2' }]), 'type_mismatch', 0);
  expectAbort(tx(m, [{ op: 'link', id: 'e2', type: 'likes', from: 'c1', to: 'e1' }]), 'type_mismatch', 0);
  expectAbort(tx(m, [{ op: 'set', id: 'c1', attr: 'qty', value: 'three' }]), 'type_mismatch', 0);
  expectAbort(tx(m, [{ op: 'set', id: 'c1', attr: 'qty', value: 1.5 }]), 'type_mismatch', 0);
  expectAbort(tx(m, [{ op: 'set', id: 'c1', attr: 'price', value: true }]), 'type_mismatch', 0);
  expectAbort(tx(m, [{ op: 'set', id: 'c1', attr: 'email', value: 7 }]), 'type_mismatch', 0);
  expectAbort(tx(m, [{ op: 'add', id: 'c1', attr: 'tags', value: 1 }]), 'type_mismatch', 0);
  expectAbort(tx(m, [{ op: 'retract', id: 'c1', attr: 'codes', value: 'x' }]), 'type_mismatch', 0);
  // R1: an integer is a valid double; edges take attributes like nodes.
  expectCommitted(tx(m, [{ op: 'set', id: 'c1', attr: 'price', value: 3 }, { op: 'set', id: 'e1', attr: 'qty', value: 2 }]));
  assert.deepEqual(m.entity('c1', m.latestOffset)?.attrs, { price: 3 });
  assert.deepEqual(m.entity('e1', m.latestOffset)?.attrs, { qty: 2 });
  // Undefined attributes accept any scalar.
  expectCommitted(tx(m, [{ op: 'set', id: 'c1', attr: 'free', value: 'x' }, { op: 'set', id: 'c1', attr: 'free', value: false }]));
});

test('cardinality_mismatch: add/retract on cardinality one (defined or not), set/unset on many', () => {
  const m = base();
  expectAbort(tx(m, [{ op: 'add', id: 'c1', attr: 'undefinedAttr', value: 1 }]), 'cardinality_mismatch', 0);
  expectAbort(tx(m, [{ op: 'add', id: 'c1', attr: 'qty', value: 1 }]), 'cardinality_mismatch', 0);
  expectAbort(tx(m, [{ op: 'retract', id: 'c1', attr: 'email', value: 'a' }]), 'cardinality_mismatch', 0);
  expectAbort(tx(m, [{ op: 'set', id: 'c1', attr: 'tags', value: 'a' }]), 'cardinality_mismatch', 0);
  expectAbort(tx(m, [{ op: 'unset', id: 'c1', attr: 'tags' }]), 'cardinality_mismatch', 0);
});

test('unique_conflict on set and add, only against other live entities', () => {
  const m = base();
  expectCommitted(tx(m, [{ op: 'set', id: 'c1', attr: 'email', value: 'a@x' }, { op: 'add', id: 'c1', attr: 'codes', value: 5 }]));
  expectAbort(tx(m, [{ op: 'set', id: 'c2', attr: 'email', value: 'a@x' }]), 'unique_conflict', 0);
  expectAbort(tx(m, [{ op: 'add', id: 'c2', attr: 'codes', value: 5 }]), 'unique_conflict', 0);
  // Same entity: a no-op, not a conflict.
  expectCommitted(tx(m, [{ op: 'set', id: 'c1', attr: 'email', value: 'a@x' }, { op: 'add', id: 'c1', attr: 'codes', value: 5 }]));
  // Freed earlier in the same tx: allowed.
  expectCommitted(tx(m, [{ op: 'unset', id: 'c1', attr: 'email' }, { op: 'set', id: 'c2', attr: 'email', value: 'a@x' }]));
  // A terminated holder frees the value.
  expectCommitted(tx(m, [{ op: 'terminate', id: 'c1' }, { op: 'create', id: 'c3', type: 'C' }, { op: 'add', id: 'c3', attr: 'codes', value: 5 }]));
});

test('precondition_failed: expect compares the current value; absent = null; many = set', () => {
  const m = base();
  expectCommitted(
    tx(m, [
      { op: 'set', id: 'c1', attr: 'status', value: 'open' },
      { op: 'add', id: 'c1', attr: 'tags', value: 'b' },
      { op: 'add', id: 'c1', attr: 'tags', value: 'a' },
    ]),
  );
  expectCommitted(tx(m, [{ op: 'expect', id: 'c1', attr: 'status', value: 'open' }]));
  expectCommitted(tx(m, [{ op: 'expect', id: 'c1', attr: 'tags', value: ['a', 'b'] }]));
  expectCommitted(tx(m, [{ op: 'expect', id: 'c1', attr: 'tags', value: ['b', 'a'] }]));
  expectCommitted(tx(m, [{ op: 'expect', id: 'c2', attr: 'tags', value: [] }, { op: 'expect', id: 'c2', attr: 'tags', value: null }]));
  expectCommitted(tx(m, [{ op: 'expect', id: 'never', attr: 'x', value: null }]));
  expectAbort(tx(m, [{ op: 'expect', id: 'never', attr: 'x', value: 1 }]), 'precondition_failed', 0);
  expectAbort(tx(m, [{ op: 'expect', id: 'c1', attr: 'status', value: 'closed' }]), 'precondition_failed', 0);
  expectAbort(tx(m, [{ op: 'expect', id: 'c1', attr: 'status', value: null }]), 'precondition_failed', 0);
  expectAbort(tx(m, [{ op: 'expect', id: 'c1', attr: 'tags', value: ['a'] }]), 'precondition_failed', 0);
  expectAbort(tx(m, [{ op: 'expect', id: 'c1', attr: 'tags', value: null }]), 'precondition_failed', 0);
  // Compare-and-set inside one tx sees the earlier ops.
  expectCommitted(tx(m, [{ op: 'set', id: 'c1', attr: 'status', value: 'x' }, { op: 'expect', id: 'c1', attr: 'status', value: 'x' }]));
  // A terminated entity has every attribute absent.
  expectCommitted(tx(m, [{ op: 'terminate', id: 'c1' }, { op: 'expect', id: 'c1', attr: 'status', value: null }]));
  expectAbort(tx(m, [{ op: 'expect', id: 'c1', attr: 'status', value: 'x' }]), 'precondition_failed', 0);
});

test('required_missing: checked at the end of the tx for created or changed entities of the type', () => {
  const m = base();
  expectAbort(tx(m, [{ op: 'create', id: 'o1', type: 'Order' }]), 'required_missing', 0);
  expectCommitted(tx(m, [{ op: 'create', id: 'o1', type: 'Order' }, { op: 'set', id: 'o1', attr: 'status', value: 'open' }]));
  expectAbort(tx(m, [{ op: 'set', id: 'c1', attr: 'a', value: 1 }, { op: 'unset', id: 'o1', attr: 'status' }]), 'required_missing', 1);
  // Unset then set again in the same tx: fine at the end.
  expectCommitted(tx(m, [{ op: 'unset', id: 'o1', attr: 'status' }, { op: 'set', id: 'o1', attr: 'status', value: 'x' }]));
  // Created and terminated in the same tx: not live at the end, nothing to check.
  expectCommitted(tx(m, [{ op: 'create', id: 'o2', type: 'Order' }, { op: 'terminate', id: 'o2' }]));
  // An op-level failure later in the tx comes first (the end-of-tx check is never reached).
  expectAbort(tx(m, [{ op: 'create', id: 'o3', type: 'Order' }, { op: 'set', id: 'ghost', attr: 'a', value: 1 }]), 'entity_not_found', 1);
  // The aborted creates left o3 free.
  expectCommitted(tx(m, [{ op: 'create', id: 'o3', type: 'Order' }, { op: 'set', id: 'o3', attr: 'status', value: 'open' }]));
});

test('schema_conflict: redefinitions that live data violates; dead data does not count', () => {
  const m = base();
  expectCommitted(tx(m, [{ op: 'set', id: 'c1', attr: 'name', value: 'ann' }, { op: 'set', id: 'c2', attr: 'name', value: 5 }]));
  expectAbort(tx(m, [{ op: 'defineAttr', attr: 'name', valueType: 'string', cardinality: 'one', unique: false }]), 'schema_conflict', 0);
  expectAbort(tx(m, [{ op: 'defineAttr', attr: 'name', valueType: 'long', cardinality: 'one', unique: false }]), 'schema_conflict', 0);
  expectCommitted(tx(m, [{ op: 'set', id: 'c1', attr: 'rank', value: 2 }, { op: 'set', id: 'c2', attr: 'rank', value: 2 }]));
  expectCommitted(tx(m, [{ op: 'defineAttr', attr: 'rank', valueType: 'double', cardinality: 'one', unique: false }]));
  expectAbort(tx(m, [{ op: 'defineAttr', attr: 'rank', valueType: 'long', cardinality: 'one', unique: true }]), 'schema_conflict', 0);
  expectCommitted(tx(m, [{ op: 'create', id: 'k1', type: 'Kind' }]));
  expectAbort(tx(m, [{ op: 'defineType', type: 'Kind', kind: 'node', required: ['z'] }]), 'schema_conflict', 0);
  expectAbort(tx(m, [{ op: 'defineType', type: 'Kind', kind: 'edge', required: [] }]), 'schema_conflict', 0);
  // The op sees earlier ops of its tx: once k1 has z, the definition fits.
  expectCommitted(tx(m, [{ op: 'set', id: 'k1', attr: 'z', value: 1 }, { op: 'defineType', type: 'Kind', kind: 'node', required: ['z'] }]));
  // Terminated entities' values do not count.
  expectCommitted(tx(m, [{ op: 'terminate', id: 'c2' }, { op: 'defineAttr', attr: 'name', valueType: 'string', cardinality: 'one', unique: true }]));
  // Once defined, writes must conform.
  expectAbort(tx(m, [{ op: 'set', id: 'c1', attr: 'name', value: 3 }]), 'type_mismatch', 0);
});

test('duplicate_tx: a committed key aborts later txs; an aborted key stays usable', () => {
  const m = base();
  expectAbort(tx(m, [{ op: 'set', id: 'ghost', attr: 'a', value: 1 }], 'k1'), 'entity_not_found', 0);
  const first = m.publish({ id: 'k1', ops: [{ op: 'set', id: 'c1', attr: 'a', value: 1 }] });
  expectCommitted(first.outcome);
  const dup = m.publish({ id: 'k1', ops: [{ op: 'set', id: 'c1', attr: 'a', value: 2 }] });
  assert.deepEqual(dup.outcome, { status: 'aborted', code: 'duplicate_tx', op: null, originalOffset: first.offset });
  assert.deepEqual(dup.changes, []);
  assert.deepEqual(m.entity('c1', dup.offset)?.attrs, { a: 1 });
  const again = m.publish({ id: 'k1', ops: [{ op: 'set', id: 'c1', attr: 'a', value: 1 }] });
  assert.equal(again.outcome.status === 'aborted' && again.outcome.originalOffset, first.offset);
});

test('no-ops commit with no change', () => {
  const m = base();
  expectCommitted(tx(m, [{ op: 'set', id: 'c1', attr: 'a', value: 1 }, { op: 'add', id: 'c1', attr: 'tags', value: 'x' }]));
  const rec = m.publish({
    ops: [
      { op: 'set', id: 'c1', attr: 'a', value: 1 },
      { op: 'add', id: 'c1', attr: 'tags', value: 'x' },
      { op: 'retract', id: 'c1', attr: 'tags', value: 'absent' },
      { op: 'unset', id: 'c1', attr: 'b' },
    ],
  });
  expectCommitted(rec.outcome);
  assert.deepEqual(rec.changes, []);
  // Set to another value and back in one tx: no net change.
  const back = m.publish({ ops: [{ op: 'set', id: 'c1', attr: 'a', value: 2 }, { op: 'set', id: 'c1', attr: 'a', value: 1 }] });
  assert.deepEqual(back.changes, []);
});

test('terminating a node terminates its edges; slices, entity shape, out/in, listings', () => {
  const m = base();
  expectCommitted(
    tx(m, [
      { op: 'create', id: 'o1', type: 'Order' },
      { op: 'set', id: 'o1', attr: 'status', value: 'open' },
      { op: 'add', id: 'o1', attr: 'tags', value: 'rush' },
      { op: 'add', id: 'o1', attr: 'tags', value: 'big' },
      { op: 'link', id: 'p1', type: 'placedBy', from: 'o1', to: 'c1' },
      { op: 'link', id: 'p2', type: 'likes', from: 'c2', to: 'o1' },
      { op: 'link', id: 'self', type: 'likes', from: 'c2', to: 'c2' },
      { op: 'set', id: 'p1', attr: 'w', value: 1.5 },
    ]),
  );
  const at = m.latestOffset;
  assert.deepEqual(m.entity('o1', at), {
    id: 'o1',
    kind: 'node',
    type: 'Order',
    createdAt: at,
    attrs: { status: 'open', tags: ['big', 'rush'] },
    out: [{ id: 'p1', type: 'placedBy', to: 'c1' }],
    in: [{ id: 'p2', type: 'likes', from: 'c2' }],
  });
  assert.deepEqual(m.entity('p1', at), { id: 'p1', kind: 'edge', type: 'placedBy', createdAt: at, from: 'o1', to: 'c1', attrs: { w: 1.5 } });
  const c2 = m.entity('c2', at);
  assert.ok(c2?.kind === 'node');
  assert.deepEqual(c2.out.map((e) => e.id), ['p2', 'self']);
  assert.deepEqual(c2.in.map((e) => e.id), ['self']);

  const term = m.publish({ ops: [{ op: 'terminate', id: 'o1' }] });
  assert.deepEqual(
    [...term.changes].map((c) => JSON.stringify(c)).sort(),
    [{ kind: 'terminated', id: 'o1' }, { kind: 'terminated', id: 'p1' }, { kind: 'terminated', id: 'p2' }].map((c) => JSON.stringify(c)).sort(),
  );
  assert.equal(m.entity('o1', term.offset), null);
  assert.equal(m.entity('p2', term.offset), null);
  assert.ok(m.entity('o1', at) !== null, 'the past slice still holds o1');
  assert.deepEqual(m.list(at, { type: 'likes' }).map((e) => e.id), ['p2', 'self']);
  assert.deepEqual(m.list(term.offset, { type: 'likes' }).map((e) => e.id), ['self']);
  assert.deepEqual(m.list(at, { where: [{ attr: 'tags', value: 'rush' }] }).map((e) => e.id), ['o1']);
  assert.deepEqual(m.list(at, { type: 'Customer', where: [{ attr: 'tags', value: 'rush' }] }), []);
  expectAbort(tx(m, [{ op: 'set', id: 'p1', attr: 'w', value: 2 }]), 'entity_terminated', 0);
});

test('an emptied many-attribute is absent; history lists only the entity’s own net changes', () => {
  const m = base();
  const a = m.publish({ ops: [{ op: 'add', id: 'c1', attr: 'tags', value: 'x' }, { op: 'link', id: 'e1', type: 'likes', from: 'c1', to: 'c2' }] }, 2000);
  const b = m.publish({ ops: [{ op: 'retract', id: 'c1', attr: 'tags', value: 'x' }, { op: 'set', id: 'c1', attr: 'n', value: 1 }] }, 3000);
  assert.deepEqual(m.entity('c1', b.offset)?.attrs, { n: 1 });
  const c = m.publish({ ops: [{ op: 'terminate', id: 'c1' }] }, 4000);
  const h = m.history('c1', c.offset);
  assert.deepEqual(h, [
    { offset: 1, time: new Date(1001).toISOString(), change: { kind: 'created', id: 'c1', type: 'Customer', entity: 'node' } },
    { offset: a.offset, time: new Date(2000).toISOString(), change: { kind: 'added', id: 'c1', attr: 'tags', value: 'x' } },
    { offset: b.offset, time: new Date(3000).toISOString(), change: { kind: 'set', id: 'c1', attr: 'n', old: null, new: 1 } },
    { offset: b.offset, time: new Date(3000).toISOString(), change: { kind: 'retracted', id: 'c1', attr: 'tags', value: 'x' } },
    { offset: c.offset, time: new Date(4000).toISOString(), change: { kind: 'terminated', id: 'c1' } },
  ]);
  assert.deepEqual(m.history('e1', c.offset)?.map((x) => x.change.kind), ['created', 'terminated']);
  assert.equal(m.history('e1', 1), null, 'not yet created at offset 1');
  assert.equal(m.history('never', c.offset), null);
  assert.deepEqual(m.history('c1', a.offset)?.length, 2, 'cut at the basis');
});

test('diff is net, symmetric, skips entities born and dead inside the span, and applies', () => {
  const m = base();
  m.publish({ ops: [{ op: 'set', id: 'c1', attr: 'n', value: 1 }, { op: 'add', id: 'c1', attr: 'tags', value: 'a' }] });
  const from = m.latestOffset;
  m.publish({ ops: [{ op: 'create', id: 't', type: 'T' }, { op: 'link', id: 'te', type: 'likes', from: 't', to: 'c1' }] });
  m.publish({ ops: [{ op: 'set', id: 'c1', attr: 'n', value: 2 }, { op: 'add', id: 'c1', attr: 'tags', value: 'b' }] });
  m.publish({ ops: [{ op: 'terminate', id: 't' }, { op: 'set', id: 'c1', attr: 'n', value: 3 }, { op: 'terminate', id: 'c2' }] });
  m.publish({ ops: [{ op: 'defineAttr', attr: 'n', valueType: 'long', cardinality: 'one', unique: false }] });
  const to = m.latestOffset;
  const fwd = m.diff(from, to);
  assert.deepEqual(changeMultisetDiff(fwd, [
    { kind: 'set', id: 'c1', attr: 'n', old: 1, new: 3 },
    { kind: 'added', id: 'c1', attr: 'tags', value: 'b' },
    { kind: 'terminated', id: 'c2' },
    { kind: 'schema', attr: 'n', definition: { valueType: 'long', cardinality: 'one', unique: false } },
  ]), { onlyA: [], onlyB: [] });
  assert.deepEqual(m.transientIds(from, to), ['t', 'te']);
  const back = m.diff(to, from);
  assert.ok(back.some((c) => c.kind === 'created' && c.id === 'c2'));
  assert.ok(back.some((c) => c.kind === 'schema' && 'attr' in c && c.definition === null));
  assert.ok(slicesEqual(applyDiff(m.sliceAt(from), fwd), m.sliceAt(to)));
  assert.ok(slicesEqual(applyDiff(m.sliceAt(to), back), m.sliceAt(from)));
  assert.equal(checkChangeOrder(fwd), null);
  assert.equal(checkChangeOrder(back), null);
  assert.throws(() => applyDiff(m.sliceAt(from), [{ kind: 'set', id: 'c1', attr: 'n', old: 9, new: 3 }]), /old is 1/);
  assert.throws(() => applyDiff(m.sliceAt(from), [{ kind: 'created', id: 'c1', type: 'Customer', entity: 'node' }]), /already present/);
});

test('parseWhere splits at the first colon and parses JSON when it parses', () => {
  assert.deepEqual(parseWhere('status:open'), { attr: 'status', value: 'open' });
  assert.deepEqual(parseWhere('n:5'), { attr: 'n', value: 5 });
  assert.deepEqual(parseWhere('s:"5"'), { attr: 's', value: '5' });
  assert.deepEqual(parseWhere('b:true'), { attr: 'b', value: true });
  assert.deepEqual(parseWhere('url:http://x'), { attr: 'url', value: 'http://x' });
});

test('mulberry32 is deterministic and the generator replays a seed exactly', () => {
  const r1 = mulberry32(42);
  const r2 = mulberry32(42);
  for (let i = 0; i < 10; i++) assert.equal(r1(), r2());
  const a = generateTxs(7, 120).map((g) => JSON.stringify(g.body));
  const b = generateTxs(7, 120).map((g) => JSON.stringify(g.body));
  assert.deepEqual(a, b);
});

test('the generator covers every abort code at a steady rate and aborts about 10% of txs', () => {
  const counts = new Map<string, number>();
  const m = new ReferenceModel();
  const txs = generateTxs(1234, 600);
  for (const g of txs) {
    const o = m.publish(g.body).outcome;
    const key = o.status === 'committed' ? 'committed' : o.code;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const aborted = txs.length - (counts.get('committed') ?? 0);
  console.log('outcomes over 600 generated txs (seed 1234):', Object.fromEntries([...counts].sort()));
  assert.ok(aborted >= 0.07 * txs.length && aborted <= 0.16 * txs.length, `aborted ${aborted} of ${txs.length}`);
  for (const code of ['entity_exists', 'entity_not_found', 'entity_terminated', 'type_mismatch', 'cardinality_mismatch', 'unique_conflict', 'precondition_failed', 'required_missing', 'schema_conflict', 'duplicate_tx']) {
    assert.ok((counts.get(code) ?? 0) >= 2, `code ${code} produced ${counts.get(code) ?? 0} times`);
  }
  // Every tx of a generated stream replays to the same outcomes in a fresh model (determinism of the fold).
  const m2 = new ReferenceModel();
  for (const g of txs) m2.publish(g.body);
  assert.deepEqual(sliceToJson(m2.sliceAt(m2.latestOffset)), sliceToJson(m.sliceAt(m.latestOffset)));
});
