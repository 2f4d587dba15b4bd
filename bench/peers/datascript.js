// DataScript peer (in-memory Datalog): the latest state only, as DataScript keeps no history. Nodes and
// edges are entities found by a unique `strata/id`; edges hold refs to their ends; terminate retracts.

import ds from 'datascript';

const SCHEMA = {
  'strata/id': { ':db/unique': ':db.unique/identity' },
  'edge/from': { ':db/valueType': ':db.type/ref', ':db/index': true },
  'edge/to': { ':db/valueType': ':db.type/ref', ':db/index': true },
};

const ref = (id) => ['strata/id', id];

export class DatascriptPeer {
  constructor() {
    this.conn = ds.create_conn(SCHEMA);
  }

  /** Edge entities that hold a ref to the node (what Strata terminates with it). */
  edgesOf(id) {
    const db = ds.db(this.conn);
    const node = ds.entity(db, ref(id));
    if (!node) return [];
    const eid = node.get(':db/id');
    return [...ds.datoms(db, ':avet', 'edge/from', eid), ...ds.datoms(db, ':avet', 'edge/to', eid)].map((d) => d.e);
  }

  txData(body) {
    const data = [];
    for (const op of body.ops) {
      switch (op.op) {
        case 'create':
          data.push({ 'strata/id': op.id, 'strata/type': op.type });
          break;
        case 'link':
          data.push({ 'strata/id': op.id, 'strata/type': op.type, 'edge/from': ref(op.from), 'edge/to': ref(op.to) });
          break;
        case 'set':
          data.push([':db/add', ref(op.id), op.attr, op.value]);
          break;
        case 'terminate':
          for (const edge of this.edgesOf(op.id)) data.push([':db.fn/retractEntity', edge]);
          data.push([':db.fn/retractEntity', ref(op.id)]);
          break;
        default:
          break;
      }
    }
    return data;
  }

  /** One DataScript transaction per workload tx (in memory: nothing is durable). */
  ingest(txs, from, to) {
    for (let i = from; i < to; i++) {
      const data = this.txData(txs[i]);
      if (data.length > 0) ds.transact(this.conn, data);
    }
  }

  /** `pull [*]` of the latest state: the entity's attributes, type and id. */
  pull(id) {
    return ds.pull(ds.db(this.conn), '[*]', ref(id));
  }
}
