// Seeded generator of a realistic commerce graph: customers, products and orders (typed nodes with a
// few attributes), `placed` / `contains` / `likes` edges, order status changes over time, cancellations
// and churned customers (terminations). One fact = one instruction; every peer loads the same txs.

/** mulberry32: a tiny, well-mixed 32-bit PRNG, so one seed always yields the same workload. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TIERS = ['bronze', 'silver', 'gold'];
const NEXT_STATUS = { open: 'paid', paid: 'shipped', shipped: 'delivered' };
const WORDS = ['blue', 'steel', 'oak', 'mini', 'pro', 'max', 'eco', 'lux', 'bolt', 'leaf', 'nova', 'flux'];

/**
 * Schema tx first (offset 0), then a mix of: new customer (4 facts), new product (4), order placed
 * (5 + 2 per line), order status advanced (1), product repriced (1), order cancelled (1), customer
 * churned (1), customer likes product (1). About 4 facts per tx on average.
 *
 * Returns { txs: [{ ops }], facts, entities: [{ id, type, kind, createdAt }] }; `createdAt` is the tx
 * index, which is also the Strata offset (one graph, txs published in order).
 */
export function generateWorkload(factsTarget, seed = 42) {
  const rnd = mulberry32(seed);
  const int = (n) => Math.floor(rnd() * n);
  const pick = (xs) => xs[int(xs.length)];
  const txs = [];
  const entities = [];
  const customers = []; // live ids
  const products = [];
  const orders = []; // live orders not yet delivered: { id, status }
  let facts = 0;
  let seq = 0;
  const push = (ops) => {
    txs.push({ ops });
    facts += ops.length;
  };
  const created = (id, type, kind) => entities.push({ id, type, kind, createdAt: txs.length });

  push([
    { op: 'defineAttr', attr: 'price', valueType: 'double', cardinality: 'one', unique: false },
    { op: 'defineAttr', attr: 'total', valueType: 'double', cardinality: 'one', unique: false },
    { op: 'defineAttr', attr: 'qty', valueType: 'long', cardinality: 'one', unique: false },
    { op: 'defineType', type: 'Order', kind: 'node', required: ['status'] },
  ]);

  const newCustomer = () => {
    const id = `cust-${++seq}`;
    created(id, 'Customer', 'node');
    push([
      { op: 'create', id, type: 'Customer' },
      { op: 'set', id, attr: 'name', value: `${pick(WORDS)} ${pick(WORDS)} ${seq}` },
      { op: 'set', id, attr: 'email', value: `c${seq}@example.com` },
      { op: 'set', id, attr: 'tier', value: pick(TIERS) },
    ]);
    customers.push(id);
  };
  const newProduct = () => {
    const id = `prod-${++seq}`;
    created(id, 'Product', 'node');
    push([
      { op: 'create', id, type: 'Product' },
      { op: 'set', id, attr: 'sku', value: `SKU-${seq}` },
      { op: 'set', id, attr: 'title', value: `${pick(WORDS)} ${pick(WORDS)}` },
      { op: 'set', id, attr: 'price', value: Math.round(rnd() * 50000) / 100 + 0.01 },
    ]);
    products.push(id);
  };
  const placeOrder = () => {
    const id = `order-${++seq}`;
    const customer = pick(customers);
    const ops = [
      { op: 'create', id, type: 'Order' },
      { op: 'set', id, attr: 'status', value: 'open' },
      { op: 'set', id, attr: 'total', value: Math.round(rnd() * 100000) / 100 + 0.01 },
      { op: 'link', id: `placed-${seq}`, type: 'placed', from: customer, to: id },
    ];
    created(id, 'Order', 'node');
    created(`placed-${seq}`, 'placed', 'edge');
    const lines = 1 + int(3);
    const used = new Set();
    for (let i = 0; i < lines; i++) {
      const product = pick(products);
      if (used.has(product)) continue;
      used.add(product);
      const edge = `line-${seq}-${i}`;
      ops.push({ op: 'link', id: edge, type: 'contains', from: id, to: product }, { op: 'set', id: edge, attr: 'qty', value: 1 + int(5) });
      created(edge, 'contains', 'edge');
    }
    push(ops);
    orders.push({ id, status: 'open' });
  };
  const advanceOrder = () => {
    const i = int(orders.length);
    const o = orders[i];
    o.status = NEXT_STATUS[o.status];
    push([{ op: 'set', id: o.id, attr: 'status', value: o.status }]);
    if (o.status === 'delivered') removeAt(orders, i);
  };
  const cancelOrder = () => {
    const i = int(orders.length);
    push([{ op: 'terminate', id: orders[i].id }]);
    removeAt(orders, i);
  };
  const churn = () => {
    const i = int(customers.length);
    const id = customers[i];
    removeAt(customers, i);
    push([{ op: 'terminate', id }]);
    // Terminating a customer ends its `placed` edges; its orders stay (history), so they may still advance.
  };
  const like = () => {
    const id = `likes-${++seq}`;
    created(id, 'likes', 'edge');
    push([{ op: 'link', id, type: 'likes', from: pick(customers), to: pick(products) }]);
  };
  const reprice = () => push([{ op: 'set', id: pick(products), attr: 'price', value: Math.round(rnd() * 50000) / 100 + 0.01 }]);

  for (let i = 0; i < 20; i++) newProduct();
  for (let i = 0; i < 20; i++) newCustomer();
  while (facts < factsTarget) {
    const r = rnd();
    if (r < 0.08) newCustomer();
    else if (r < 0.1) newProduct();
    else if (r < 0.43) placeOrder();
    else if (r < 0.8 && orders.length > 0) advanceOrder();
    else if (r < 0.87) reprice();
    else if (r < 0.91 && orders.length > 0) cancelOrder();
    else if (r < 0.92 && customers.length > 50) churn();
    else like();
  }
  return { txs, facts, entities };
}

function removeAt(xs, i) {
  xs[i] = xs[xs.length - 1];
  xs.pop();
}

/** A seeded stream of (entity, offset) read targets: entities that exist at the offset asked for. */
export function readTargets(workload, count, { seed = 7, offsetOf = (e, rnd, end) => e.createdAt + Math.floor(rnd() * (end - e.createdAt)) } = {}) {
  const rnd = mulberry32(seed);
  const end = workload.txs.length - 1;
  const out = [];
  for (let i = 0; i < count; i++) {
    const e = workload.entities[Math.floor(rnd() * workload.entities.length)];
    out.push({ id: e.id, offset: offsetOf(e, rnd, end) });
  }
  return out;
}

export { mulberry32 };
