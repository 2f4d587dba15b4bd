// Naive replay peer: what a user does by hand without a temporal store. Every read folds the log prefix
// up to the offset asked for into plain maps. The txs are already parsed in memory (no log reads, no
// decoding), which is the kindest possible version of this peer.

function fold(txs, upTo) {
  const entities = new Map();
  const edgesOf = new Map(); // node → edge ids
  for (let off = 0; off <= upTo; off++) {
    for (const op of txs[off].ops) {
      switch (op.op) {
        case 'create':
          entities.set(op.id, { id: op.id, kind: 'node', type: op.type, attrs: new Map(), live: true });
          break;
        case 'link':
          entities.set(op.id, { id: op.id, kind: 'edge', type: op.type, from: op.from, to: op.to, attrs: new Map(), live: true });
          for (const n of [op.from, op.to]) edgesOf.set(n, [...(edgesOf.get(n) ?? []), op.id]);
          break;
        case 'set':
          entities.get(op.id).attrs.set(op.attr, op.value);
          break;
        case 'terminate':
          entities.get(op.id).live = false;
          for (const e of edgesOf.get(op.id) ?? []) entities.get(e).live = false;
          break;
        default:
          break;
      }
    }
  }
  return { entities, edgesOf };
}

function view(state, id) {
  const e = state.entities.get(id);
  if (!e || !e.live) return null;
  const attrs = Object.fromEntries([...e.attrs].sort(([a], [b]) => (a < b ? -1 : 1)));
  if (e.kind === 'edge') return { id, kind: 'edge', type: e.type, from: e.from, to: e.to, attrs };
  const edges = (state.edgesOf.get(id) ?? []).map((x) => state.entities.get(x)).filter((x) => x.live);
  return {
    id, kind: 'node', type: e.type, attrs,
    out: edges.filter((x) => x.from === id).map((x) => ({ id: x.id, type: x.type, to: x.to })),
    in: edges.filter((x) => x.to === id).map((x) => ({ id: x.id, type: x.type, from: x.from })),
  };
}

export class ReplayPeer {
  constructor(txs) {
    this.txs = txs;
  }

  entity(id, off) {
    return view(fold(this.txs, off), id);
  }

  list(type, off, limit) {
    const state = fold(this.txs, off);
    const ids = [...state.entities.values()].filter((e) => e.live && e.type === type).map((e) => e.id).sort().slice(0, limit);
    return ids.map((id) => view(state, id));
  }

  /** Replays to A, snapshots the values, replays to B and compares every entity. */
  diff(a, b) {
    const before = fold(this.txs, a);
    const snapshot = new Map([...before.entities].map(([id, e]) => [id, { live: e.live, attrs: new Map(e.attrs) }]));
    const after = fold(this.txs, b);
    const changes = [];
    for (const [id, e] of after.entities) {
      const old = snapshot.get(id);
      if (!old) {
        if (e.live) changes.push({ kind: 'created', id });
        continue;
      }
      if (old.live && !e.live) changes.push({ kind: 'terminated', id });
      else if (e.live) for (const [attr, v] of e.attrs) if (old.attrs.get(attr) !== v) changes.push({ kind: 'set', id, attr, new: v });
    }
    return changes;
  }
}
