// A seeded generator of random transactions for the differential and crash tests. It keeps its own
// planning copy of the reference model so it can aim: most txs are built to commit, and about one in ten
// is built to abort with a chosen reason code (every code of §3 except invalid_record, in turn).
// The generator only proposes; the expected outcome of every tx is always the reference model's verdict.

import { ReferenceModel, type AbortCode, type OpJson, type Scalar, type TxBody, type ValueType, ABORT_CODES, conforms } from './model.js';

/** mulberry32: a tiny, well-mixed 32-bit PRNG, so a seed replays a run exactly. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }
  pickOr<T>(items: readonly T[], fallback: T): T {
    return items.length === 0 ? fallback : this.pick(items);
  }
}

export type Intent = AbortCode | 'commit' | 'schema';

export interface GeneratedTx {
  body: TxBody;
  /** What the generator aimed at; the reference model decides the actual outcome. */
  intent: Intent;
}

const NODE_TYPES = ['Order', 'Customer', 'Item'] as const;
const EDGE_TYPES = ['placedBy', 'contains', 'likes'] as const;
/** Cardinality-one attributes; `name`, `note`, `rank` start undefined (any scalar). */
const ONE_ATTRS = ['name', 'note', 'rank', 'status', 'email', 'qty', 'price', 'flag'] as const;
/** Cardinality-many attributes, defined in the bootstrap tx and never redefined to another cardinality. */
const MANY_ATTRS = ['tags', 'nums'] as const;

const POOLS: Record<string, readonly Scalar[]> = {
  any: ['a', 'b', 'c', 'zz', 1, 2, 3, 7, 1.5, -2.5, true, false],
  status: ['open', 'closed', 'pending'],
  email: ['a@x', 'b@x', 'c@x', 'd@x', 'e@x', 'f@x', 'g@x', 'h@x', 'i@x', 'j@x'],
  qty: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  price: [0.5, 1.5, 2.25, 3, 4, 9.75],
  flag: [true, false],
  tags: ['red', 'green', 'blue', 'x', 'y'],
  nums: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};
/** Values of every type, to find ones that do (or do not) conform to a definition. */
const ALL_VALUES: readonly Scalar[] = [...new Set(Object.values(POOLS).flat())];

/** The first tx of every generated stream: the schema the rest of the stream plays against. */
export function bootstrapTx(): TxBody {
  return {
    id: 'bootstrap',
    meta: { author: 'generator', reason: 'bootstrap' },
    ops: [
      { op: 'defineAttr', attr: 'status', valueType: 'string', cardinality: 'one', unique: false },
      { op: 'defineAttr', attr: 'email', valueType: 'string', cardinality: 'one', unique: true },
      { op: 'defineAttr', attr: 'qty', valueType: 'long', cardinality: 'one', unique: false },
      { op: 'defineAttr', attr: 'price', valueType: 'double', cardinality: 'one', unique: false },
      { op: 'defineAttr', attr: 'flag', valueType: 'boolean', cardinality: 'one', unique: false },
      { op: 'defineAttr', attr: 'tags', valueType: 'string', cardinality: 'many', unique: false },
      { op: 'defineAttr', attr: 'nums', valueType: 'long', cardinality: 'many', unique: true },
      { op: 'defineType', type: 'Order', kind: 'node', required: ['status'] },
      { op: 'defineType', type: 'contains', kind: 'edge', required: ['qty'] },
      { op: 'defineType', type: 'placedBy', kind: 'edge', required: [] },
      { op: 'create', id: 'n0', type: 'Customer' },
      { op: 'create', id: 'n1', type: 'Item' },
      { op: 'set', id: 'n1', attr: 'name', value: 'widget' },
    ],
  };
}

export class TxGenerator {
  readonly rng: Rng;
  /** The generator's planning copy of the reference fold. */
  plan = new ReferenceModel();
  private nodeCounter = 2;
  private edgeCounter = 0;
  private keyCounter = 0;
  /** Ids that an aborted tx tried to create: they must still be free, so later creates reuse them. */
  private freedIds: string[] = [];
  /** Committed txs that carried an idempotency key, for duplicate_tx. */
  private keyedCommitted: TxBody[] = [];
  /** Keys of aborted txs: reusable, since only a committed key is a duplicate. */
  private abortedKeys: string[] = [];
  private abortTurn: number;

  constructor(readonly seed: number, readonly abortRate = 0.11) {
    this.rng = new Rng(seed);
    this.abortTurn = this.rng.int(ABORT_CODES.length);
  }

  next(): GeneratedTx {
    const g = this.plan.nextOffset === 0 ? { body: bootstrapTx(), intent: 'commit' as Intent } : this.propose();
    const rec = this.plan.publish(g.body);
    this.learn(g.body, rec.outcome.status === 'committed');
    return g;
  }

  /**
   * Replaces the planning model by the fold of `bodies` (the real log, in log order). Concurrent
   * publishers land txs in another order than they were planned in; without this the plan drifts from
   * the real state and most txs end up aimed at entities that never came to exist.
   */
  resync(bodies: readonly TxBody[]): void {
    this.plan = new ReferenceModel();
    this.keyedCommitted = [];
    this.abortedKeys = [];
    for (const body of bodies) this.learn(body, this.plan.publish(body).outcome.status === 'committed');
  }

  private learn(body: TxBody, committed: boolean): void {
    if (committed) {
      if (body.id !== undefined) {
        this.keyedCommitted.push(body);
        this.abortedKeys = this.abortedKeys.filter((k) => k !== body.id);
      }
      this.freedIds = this.freedIds.filter((id) => !this.everCreated(id));
      return;
    }
    if (body.id !== undefined && !this.plan.txs.some((t) => t.body.id === body.id && t.outcome.status === 'committed')) {
      this.abortedKeys.push(body.id);
    }
    for (const op of body.ops) {
      if ((op.op === 'create' || op.op === 'link') && !this.everCreated(op.id) && !this.freedIds.includes(op.id)) {
        this.freedIds.push(op.id);
      }
    }
  }

  private propose(): GeneratedTx {
    if (this.rng.chance(this.abortRate)) {
      const code = ABORT_CODES[this.abortTurn % ABORT_CODES.length]!;
      this.abortTurn++;
      const body = this.tryAbort(code);
      if (body !== null) return { body, intent: code };
    }
    if (this.rng.chance(0.05)) return { body: this.schemaTx(), intent: 'schema' };
    return { body: this.commitTx(), intent: 'commit' };
  }

  // -------------------------------------------------------------------------------------------------
  // State helpers (all as of the planning model's latest offset)

  private get at(): number {
    return this.plan.latestOffset;
  }
  private everCreated(id: string): boolean {
    return this.plan.createdIds(this.at).includes(id);
  }
  private live(kind?: 'node' | 'edge'): string[] {
    const s = this.plan.sliceAt(this.at);
    return [...s.entities.values()].filter((e) => kind === undefined || e.kind === kind).map((e) => e.id);
  }
  private terminated(): string[] {
    const live = new Set(this.live());
    return this.plan.createdIds(this.at).filter((id) => !live.has(id));
  }
  private attrDef(attr: string) {
    return this.plan.sliceAt(this.at).attrDefs.get(attr);
  }
  private current(id: string, attr: string): Scalar | Scalar[] | undefined {
    return this.plan.sliceAt(this.at).entities.get(id)?.attrs.get(attr);
  }
  private required(type: string): string[] {
    return this.plan.sliceAt(this.at).typeDefs.get(type)?.required ?? [];
  }

  private freshNodeId(): string {
    const i = this.freedIds.findIndex((id) => id.startsWith('n'));
    if (i >= 0 && this.rng.chance(0.7)) return this.freedIds.splice(i, 1)[0]!;
    return `n${this.nodeCounter++}`;
  }
  private freshEdgeId(): string {
    const i = this.freedIds.findIndex((id) => id.startsWith('e'));
    if (i >= 0 && this.rng.chance(0.7)) return this.freedIds.splice(i, 1)[0]!;
    return `e${this.edgeCounter++}`;
  }
  private neverUsedId(): string {
    return this.rng.chance(0.5) ? `ghost${this.rng.int(5)}` : `n${this.nodeCounter + 50 + this.rng.int(20)}`;
  }

  /** A value that conforms to the attribute's definition in force (any scalar when undefined). */
  private validValue(attr: string): Scalar {
    const def = this.attrDef(attr);
    const pool = POOLS[attr] ?? POOLS['any']!;
    if (def === undefined) return this.rng.pick(pool);
    const ok = pool.filter((v) => conforms(v, def.valueType));
    return ok.length > 0 && this.rng.chance(0.9) ? this.rng.pick(ok) : this.rng.pick(ALL_VALUES.filter((v) => conforms(v, def.valueType)));
  }
  private invalidValue(valueType: ValueType): Scalar {
    return this.rng.pick(ALL_VALUES.filter((v) => !conforms(v, valueType)));
  }

  private keyFor(): string | undefined {
    if (this.rng.chance(0.25) && this.abortedKeys.length > 0) return this.abortedKeys.splice(this.rng.int(this.abortedKeys.length), 1)[0];
    return this.rng.chance(0.3) ? `k${this.seed}-${this.keyCounter++}` : undefined;
  }
  private meta(): Record<string, string> | undefined {
    return this.rng.chance(0.5) ? { author: this.rng.pick(['svc-orders', 'svc-stock', 'svc-crm']) } : undefined;
  }
  private body(ops: OpJson[], id = this.keyFor()): TxBody {
    const b: TxBody = { ops };
    if (id !== undefined) b.id = id;
    const meta = this.meta();
    if (meta !== undefined) b.meta = meta;
    return b;
  }

  // -------------------------------------------------------------------------------------------------
  // Committing txs: groups of ops, each kept only when the tx still commits with it.

  private commitTx(): TxBody {
    return this.body(this.commitOps());
  }

  /** Ops of a tx that commits (checked against the planning model group by group). */
  private commitOps(): OpJson[] {
    const ops: OpJson[] = [];
    const groups = 1 + this.rng.int(4);
    for (let g = 0; g < groups; g++) {
      for (let attempt = 0; attempt < 8; attempt++) {
        const group = this.group(ops);
        if (group.length === 0) continue;
        if (this.plan.preview({ ops: [...ops, ...group] }).outcome.status === 'committed') {
          ops.push(...group);
          break;
        }
      }
    }
    if (ops.length === 0) ops.push({ op: 'expect', id: this.neverUsedId(), attr: 'name', value: null });
    return ops;
  }

  /** Ids created by the ops so far in the tx (live at its end unless terminated). */
  private createdIn(ops: OpJson[], kind: 'create' | 'link'): string[] {
    const terminated = new Set(ops.flatMap((o) => (o.op === 'terminate' ? [o.id] : [])));
    return ops.flatMap((o) => ((o.op === 'create' || o.op === 'link') && o.op === kind && !terminated.has(o.id) ? [o.id] : []));
  }

  private group(ops: OpJson[]): OpJson[] {
    const nodes = [...this.live('node'), ...this.createdIn(ops, 'create')];
    const edges = [...this.live('edge'), ...this.createdIn(ops, 'link')];
    const entities = [...nodes, ...edges];
    const r = this.rng.float();
    if (r < 0.2 || nodes.length < 3) return this.createGroup();
    if (r < 0.34) return this.linkGroup(nodes);
    if (r < 0.52) return this.setGroup(entities);
    if (r < 0.6) return this.noOpGroup(entities);
    if (r < 0.7) return this.manyGroup(entities);
    if (r < 0.76) return [{ op: 'unset', id: this.rng.pick(entities), attr: this.rng.pick(['name', 'note', 'rank', 'price', 'flag', 'email']) }];
    if (r < 0.86) return this.expectGroup(entities);
    return this.terminateGroup(nodes, edges);
  }

  private createGroup(): OpJson[] {
    const type = this.rng.pick(NODE_TYPES);
    const id = this.freshNodeId();
    const ops: OpJson[] = [{ op: 'create', id, type }];
    for (const attr of this.required(type)) ops.push({ op: 'set', id, attr, value: this.validValue(attr) });
    if (this.rng.chance(0.5)) {
      const attr = this.rng.pick(ONE_ATTRS);
      ops.push({ op: 'set', id, attr, value: this.validValue(attr) });
    }
    if (this.rng.chance(0.3)) ops.push({ op: 'add', id, attr: 'tags', value: this.validValue('tags') });
    return ops;
  }

  private linkGroup(nodes: string[]): OpJson[] {
    const type = this.rng.pick(EDGE_TYPES);
    const id = this.freshEdgeId();
    const from = this.rng.pick(nodes);
    const to = this.rng.chance(0.05) ? from : this.rng.pick(nodes); // R8: self-loops happen
    const ops: OpJson[] = [{ op: 'link', id, type, from, to }];
    for (const attr of this.required(type)) ops.push({ op: 'set', id, attr, value: this.validValue(attr) });
    if (this.rng.chance(0.3)) ops.push({ op: 'set', id, attr: 'note', value: this.validValue('note') });
    return ops;
  }

  private setGroup(entities: string[]): OpJson[] {
    const attr = this.rng.pick(ONE_ATTRS);
    return [{ op: 'set', id: this.rng.pick(entities), attr, value: this.validValue(attr) }];
  }

  /** Ops that change nothing: the current value again, an absent unset/retract, a present add. */
  private noOpGroup(entities: string[]): OpJson[] {
    const id = this.rng.pick(entities);
    const attrs = this.plan.sliceAt(this.at).entities.get(id)?.attrs;
    const r = this.rng.int(4);
    if (r === 0 && attrs !== undefined) {
      const ones = [...attrs].filter(([, v]) => !Array.isArray(v));
      if (ones.length > 0) {
        const [attr, value] = this.rng.pick(ones);
        return [{ op: 'set', id, attr, value: value as Scalar }];
      }
    }
    if (r === 1) return [{ op: 'unset', id, attr: 'note' }];
    if (r === 2) return [{ op: 'retract', id, attr: 'tags', value: this.validValue('tags') }];
    const tags = this.current(id, 'tags');
    if (Array.isArray(tags) && tags.length > 0) return [{ op: 'add', id, attr: 'tags', value: this.rng.pick(tags) }];
    return [{ op: 'unset', id, attr: 'rank' }];
  }

  private manyGroup(entities: string[]): OpJson[] {
    const id = this.rng.pick(entities);
    const attr = this.rng.pick(MANY_ATTRS);
    const cur = this.current(id, attr);
    if (Array.isArray(cur) && cur.length > 0 && this.rng.chance(0.4)) return [{ op: 'retract', id, attr, value: this.rng.pick(cur) }];
    const ops: OpJson[] = [{ op: 'add', id, attr, value: this.validValue(attr) }];
    if (this.rng.chance(0.3)) ops.push({ op: 'add', id, attr, value: this.validValue(attr) });
    return ops;
  }

  /** Passing expects: the current value (as of the latest offset, which ops earlier in the tx may change). */
  private expectGroup(entities: string[]): OpJson[] {
    const r = this.rng.int(4);
    if (r === 0) return [{ op: 'expect', id: this.rng.pick([...this.terminated(), this.neverUsedId()]), attr: 'status', value: null }];
    const id = this.rng.pick(entities);
    if (r === 1) {
      const cur = this.current(id, 'tags');
      return [{ op: 'expect', id, attr: 'tags', value: Array.isArray(cur) ? [...cur].reverse() : this.rng.pick([null, []]) }];
    }
    const attr = this.rng.pick(ONE_ATTRS);
    const cur = this.current(id, attr);
    return [{ op: 'expect', id, attr, value: cur === undefined || Array.isArray(cur) ? null : cur }];
  }

  private terminateGroup(nodes: string[], edges: string[]): OpJson[] {
    const linked = nodes.filter((n) => (this.plan.entity(n, this.at)?.kind === 'node' ? this.hasEdges(n) : false));
    if (linked.length > 0 && this.rng.chance(0.6)) return [{ op: 'terminate', id: this.rng.pick(linked) }];
    return [{ op: 'terminate', id: this.rng.pickOr(this.rng.chance(0.5) ? edges : nodes, this.rng.pick(nodes)) }];
  }

  private hasEdges(id: string): boolean {
    const e = this.plan.entity(id, this.at);
    return e !== null && e.kind === 'node' && e.out.length + e.in.length > 0;
  }

  // -------------------------------------------------------------------------------------------------
  // Schema txs: redefinitions that may commit or conflict with live data.

  private schemaTx(): TxBody {
    const r = this.rng.int(6);
    let op: OpJson;
    if (r === 0) op = { op: 'defineAttr', attr: 'rank', valueType: this.rng.pick(['long', 'double', 'string', 'boolean'] as const), cardinality: 'one', unique: false };
    else if (r === 1) op = { op: 'defineAttr', attr: 'email', valueType: 'string', cardinality: 'one', unique: this.rng.chance(0.7) };
    else if (r === 2) op = { op: 'defineAttr', attr: 'status', valueType: 'string', cardinality: 'one', unique: this.rng.chance(0.2) };
    else if (r === 3) op = { op: 'defineType', type: 'Item', kind: 'node', required: this.rng.chance(0.5) ? ['name'] : [] };
    else if (r === 4) op = { op: 'defineType', type: 'Customer', kind: 'node', required: this.rng.chance(0.3) ? ['email'] : [] };
    else op = { op: 'defineAttr', attr: 'price', valueType: 'double', cardinality: 'one', unique: false };
    return this.body([op]);
  }

  // -------------------------------------------------------------------------------------------------
  // Aborting txs: a committing prefix, one op aimed at `code`, then a few ops that must not matter.

  private tryAbort(code: AbortCode): TxBody | null {
    for (let attempt = 0; attempt < 12; attempt++) {
      const body = code === 'duplicate_tx' ? this.duplicate() : this.aimed(code);
      if (body === null) continue;
      const outcome = this.plan.preview(body).outcome;
      if (outcome.status === 'aborted' && outcome.code === code) return body;
    }
    return null;
  }

  private duplicate(): TxBody | null {
    if (this.keyedCommitted.length === 0) return null;
    const original = this.rng.pick(this.keyedCommitted);
    // Half the time the exact retry of the original body, otherwise another body under the same key.
    return this.rng.chance(0.5) ? original : this.body(this.commitOps(), original.id);
  }

  private aimed(code: AbortCode): TxBody | null {
    const prefix = code === 'required_missing' || code === 'schema_conflict' ? [] : this.commitOps().slice(0, this.rng.int(4));
    const failing = this.failingOps(code, prefix);
    if (failing === null) return null;
    const trailing = code === 'required_missing' ? [] : this.commitOps().slice(0, this.rng.int(3));
    return this.body([...prefix, ...failing, ...trailing]);
  }

  private failingOps(code: AbortCode, prefix: OpJson[]): OpJson[] | null {
    const nodes = this.live('node');
    const edges = this.live('edge');
    const dead = this.terminated();
    const touched = new Set(prefix.flatMap((o) => ('id' in o ? [o.id] : [])));
    switch (code) {
      case 'entity_exists': {
        const used = this.plan.createdIds(this.at);
        const id = this.rng.chance(0.4) && dead.length > 0 ? this.rng.pick(dead) : this.rng.pick(used);
        if (this.rng.chance(0.5) || nodes.length === 0) return [{ op: 'create', id, type: this.rng.pick(NODE_TYPES) }];
        return [{ op: 'link', id, type: 'likes', from: this.rng.pick(nodes), to: this.rng.pick(nodes) }];
      }
      case 'entity_not_found': {
        const ghost = this.neverUsedId();
        const r = this.rng.int(5);
        if (r === 0) return [{ op: 'set', id: ghost, attr: 'name', value: 'a' }];
        if (r === 1) return [{ op: 'terminate', id: ghost }];
        if (r === 2) return [{ op: 'add', id: ghost, attr: 'tags', value: 'red' }];
        if (nodes.length === 0) return null;
        // A bad `to` after a good `from`, or a bad `from` with a bad `to`: the first bad field counts.
        return r === 3
          ? [{ op: 'link', id: this.freshEdgeId(), type: 'likes', from: this.rng.pick(nodes), to: ghost }]
          : [{ op: 'link', id: this.freshEdgeId(), type: 'likes', from: ghost, to: this.rng.pickOr(dead, ghost) }];
      }
      case 'entity_terminated': {
        if (dead.length === 0) return null;
        const id = this.rng.pick(dead);
        const r = this.rng.int(5);
        if (r === 0) return [{ op: 'set', id, attr: 'note', value: 'z' }];
        if (r === 1) return [{ op: 'terminate', id }];
        if (r === 2) return [{ op: 'unset', id, attr: 'note' }];
        const deadNodes = dead.filter((d) => d.startsWith('n'));
        if (deadNodes.length === 0 || nodes.length === 0) return null;
        return r === 3
          ? [{ op: 'link', id: this.freshEdgeId(), type: 'likes', from: this.rng.pick(deadNodes), to: this.neverUsedId() }]
          : [{ op: 'link', id: this.freshEdgeId(), type: 'placedBy', from: this.rng.pick(nodes), to: this.rng.pick(deadNodes) }];
      }
      case 'type_mismatch': {
        const r = this.rng.int(3);
        if (r === 0 && edges.length > 0 && nodes.length > 0) {
          const edgeFirst = this.rng.chance(0.5);
          const e = this.rng.pick(edges);
          const n = this.rng.pick(nodes);
          return [{ op: 'link', id: this.freshEdgeId(), type: 'likes', from: edgeFirst ? e : n, to: edgeFirst ? n : e }];
        }
        const target = this.rng.pickOr([...nodes, ...edges], 'n0');
        if (r === 1) return [{ op: 'add', id: target, attr: 'nums', value: this.invalidValue('long') }];
        const attr = this.rng.pick(['qty', 'price', 'flag', 'status', 'email'] as const);
        return [{ op: 'set', id: target, attr, value: this.invalidValue(this.attrDef(attr)?.valueType ?? 'string') }];
      }
      case 'cardinality_mismatch': {
        const target = this.rng.pickOr([...nodes, ...edges], 'n0');
        const r = this.rng.int(4);
        if (r === 0) return [{ op: 'add', id: target, attr: this.rng.pick(['name', 'qty']), value: 1 }];
        if (r === 1) return [{ op: 'retract', id: target, attr: 'status', value: 'open' }];
        if (r === 2) return [{ op: 'set', id: target, attr: 'tags', value: 'red' }];
        return [{ op: 'unset', id: target, attr: 'nums' }];
      }
      case 'unique_conflict':
        return this.uniqueConflict([...nodes, ...edges]);
      case 'precondition_failed': {
        const id = this.rng.pickOr([...nodes, ...edges], 'n0');
        const r = this.rng.int(3);
        if (r === 0) return [{ op: 'expect', id, attr: 'tags', value: ['never-there'] }];
        const attr = this.rng.pick(['status', 'qty', 'name']);
        const cur = this.current(id, attr);
        if (r === 1 && cur !== undefined) return [{ op: 'expect', id, attr, value: null }];
        return [{ op: 'expect', id, attr, value: cur === 'zz-wrong' ? 'other' : 'zz-wrong' }];
      }
      case 'required_missing': {
        if (this.rng.chance(0.5)) return [{ op: 'create', id: this.freshNodeId(), type: 'Order' }];
        const orders = nodes.filter((n) => this.plan.entity(n, this.at)?.type === 'Order' && !touched.has(n));
        const contains = edges.filter((e) => this.plan.entity(e, this.at)?.type === 'contains');
        if (orders.length > 0 && this.rng.chance(0.6)) return [{ op: 'unset', id: this.rng.pick(orders), attr: 'status' }];
        if (contains.length > 0) return [{ op: 'unset', id: this.rng.pick(contains), attr: 'qty' }];
        return [{ op: 'create', id: this.freshNodeId(), type: 'Order' }];
      }
      case 'schema_conflict':
        return [this.rng.pick<OpJson>([
          { op: 'defineAttr', attr: 'name', valueType: this.rng.pick(['long', 'boolean', 'string'] as const), cardinality: 'one', unique: false },
          { op: 'defineAttr', attr: 'qty', valueType: this.rng.pick(['string', 'boolean'] as const), cardinality: 'one', unique: false },
          { op: 'defineAttr', attr: 'status', valueType: 'string', cardinality: 'one', unique: true },
          { op: 'defineAttr', attr: 'price', valueType: 'long', cardinality: 'one', unique: false },
          { op: 'defineType', type: 'Customer', kind: 'node', required: ['note'] },
          { op: 'defineType', type: 'Order', kind: 'node', required: ['status', 'qty'] },
          { op: 'defineType', type: 'likes', kind: 'edge', required: ['note'] },
        ])];
      case 'duplicate_tx':
        return null;
    }
  }

  private uniqueConflict(entities: string[]): OpJson[] | null {
    const s = this.plan.sliceAt(this.at);
    const holders: { id: string; attr: string; value: Scalar }[] = [];
    for (const e of s.entities.values()) {
      const email = e.attrs.get('email');
      if (typeof email === 'string' && this.attrDef('email')?.unique) holders.push({ id: e.id, attr: 'email', value: email });
      const nums = e.attrs.get('nums');
      if (Array.isArray(nums)) for (const v of nums) holders.push({ id: e.id, attr: 'nums', value: v });
    }
    if (holders.length === 0) return null;
    const h = this.rng.pick(holders);
    const other = entities.filter((id) => id !== h.id);
    if (other.length === 0) return null;
    const id = this.rng.pick(other);
    return [h.attr === 'email' ? { op: 'set', id, attr: 'email', value: h.value } : { op: 'add', id, attr: 'nums', value: h.value }];
  }
}

/** Generates `count` txs for a seed (the bootstrap tx first). */
export function generateTxs(seed: number, count: number): GeneratedTx[] {
  const g = new TxGenerator(seed);
  return Array.from({ length: count }, () => g.next());
}
