// The broker adapter conformance suite: the behaviour every BrokerAdapter (embedded, memory, Kafka) must
// show. A backend runs it from its own test file with one call to runBrokerConformance. Differences
// between backends are declared in `supports` and read here; nothing is skipped silently.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it, type TestContext } from 'node:test';
import type { AppendResult, BrokerAdapter, LogRecord, LogRecordInput } from '../../src/broker-adapters/types.js';

export interface ConformanceHarness {
  /** A new adapter over fresh, empty storage, not yet opened (the suite opens and closes it). */
  adapter: BrokerAdapter;
  /** Durable backends: a new, unopened adapter over the same storage, called after `adapter` is closed. */
  reopen?: () => Promise<BrokerAdapter>;
  /** Removes the storage; called after the adapters are closed. */
  cleanup: () => Promise<void>;
}

const TEST_TIMEOUT_MS = 15_000;

function record(tag: string, headers?: Record<string, string>): LogRecordInput {
  return { key: `key-${tag}`, value: Buffer.from(`value-${tag}`), headers };
}

function records(prefix: string, count: number): LogRecordInput[] {
  return Array.from({ length: count }, (_, i) => record(`${prefix}-${i}`));
}

/** Offsets of one append are increasing; dense (consecutive from `expectedFirst`) unless gaps are allowed. */
function assertOffsets(adapter: BrokerAdapter, results: AppendResult[], expectedFirst: number | null): void {
  for (let i = 1; i < results.length; i++) {
    assert.ok(results[i]!.offset > results[i - 1]!.offset, 'offsets of one append increase');
  }
  if (adapter.supports.offsetGaps) return;
  results.forEach((r, i) => {
    if (i > 0) assert.equal(r.offset, results[0]!.offset + i, 'offsets are dense');
  });
  if (expectedFirst !== null && results.length > 0) assert.equal(results[0]!.offset, expectedFirst);
}

/** Reads everything from `from` to the end of the log, batch by batch. */
async function readAll(adapter: BrokerAdapter, graph: string, from = 0): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const end = await adapter.endOffset(graph);
  for (let next = from; next < end; ) {
    const batch = await adapter.read(graph, next, 100);
    if (batch.length === 0) break;
    out.push(...batch);
    next = batch[batch.length - 1]!.offset + 1;
  }
  return out;
}

function assertRecordMatches(actual: LogRecord | undefined, input: LogRecordInput, result: AppendResult): void {
  assert.ok(actual, `record at offset ${result.offset} is readable`);
  assert.equal(actual.offset, result.offset);
  assert.equal(actual.timestampMs, result.timestampMs);
  assert.equal(actual.key, input.key);
  assert.ok(actual.value.equals(input.value), `value at offset ${result.offset} is intact`);
  assert.deepEqual({ ...actual.headers }, { ...(input.headers ?? {}) });
}

/** Collects tail batches until `count` records arrived, then aborts; fails on timeout. */
async function collectTail(adapter: BrokerAdapter, graph: string, from: number, count: number, onBatch?: (batch: LogRecord[]) => void): Promise<LogRecord[][]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TEST_TIMEOUT_MS - 2_000);
  const batches: LogRecord[][] = [];
  let received = 0;
  try {
    for await (const batch of adapter.tail(graph, from, controller.signal)) {
      batches.push(batch);
      received += batch.length;
      onBatch?.(batch);
      if (received >= count) controller.abort();
    }
  } finally {
    clearTimeout(timer);
  }
  assert.ok(received >= count, `tail delivered ${received} of ${count} records before timing out`);
  return batches;
}

function assertTailBatches(batches: LogRecord[][], expectedOffsets: number[]): void {
  for (const batch of batches) assert.ok(batch.length > 0, 'tail batches are non-empty');
  const offsets = batches.flat().map((r) => r.offset);
  assert.deepEqual(offsets, expectedOffsets, 'tail has no gap, duplicate or reordering');
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + TEST_TIMEOUT_MS - 2_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function runBrokerConformance(name: string, makeAdapter: () => Promise<ConformanceHarness>): void {
  describe(`broker adapter conformance: ${name}`, { timeout: TEST_TIMEOUT_MS * 20 }, () => {
    const ctx: { harness?: ConformanceHarness; adapter?: BrokerAdapter } = {};
    const adapter = (): BrokerAdapter => ctx.adapter!;

    beforeEach(async () => {
      ctx.harness = await makeAdapter();
      ctx.adapter = ctx.harness.adapter;
      await ctx.adapter.open();
    });

    afterEach(async () => {
      await ctx.adapter?.close();
      await ctx.harness?.cleanup();
    });

    registerManifestTests(adapter);
    registerAppendReadTests(adapter);
    registerConcurrencyTests(adapter);
    registerTailTests(adapter);
    registerGraphTests(adapter);
    registerLargeValueTests(adapter);
    registerReopenTests(ctx);
  });
}

function registerManifestTests(adapter: () => BrokerAdapter): void {
  it('declares a complete capability manifest and a name', () => {
    const supports = adapter().supports;
    for (const flag of ['durable', 'offsetGaps', 'outputTopics', 'shared'] as const) {
      assert.equal(typeof supports[flag], 'boolean', `supports.${flag} is declared`);
    }
    assert.ok(adapter().name.length > 0);
  });

  it('produce resolves (a no-op unless supports.outputTopics)', async () => {
    await adapter().produce('changes', [record('p')]);
  });
}

function registerAppendReadTests(adapter: () => BrokerAdapter): void {
  it('append then read returns the records in order with every field', { timeout: TEST_TIMEOUT_MS }, async () => {
    const inputs: LogRecordInput[] = [
      record('a', { 'content-type': 'avro', 'strata-schema': 'ab12' }),
      { key: null, value: Buffer.from([0, 1, 2, 255]) },
      { key: 'ключ-✓', value: Buffer.alloc(0), headers: { 'ünïcode': 'välue ✓', empty: '' } },
    ];
    const results = await adapter().append('g1', inputs);
    assert.equal(results.length, 3);
    assertOffsets(adapter(), results, 0);
    const read = await adapter().read('g1', results[0]!.offset, 10);
    assert.equal(read.length, 3);
    inputs.forEach((input, i) => assertRecordMatches(read[i], input, results[i]!));
  });

  it('successive appends continue the log and endOffset is the last offset + 1', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.equal(await adapter().endOffset('g1'), 0);
    const first = await adapter().append('g1', records('a', 3));
    const second = await adapter().append('g1', records('b', 2));
    assertOffsets(adapter(), first, 0);
    assertOffsets(adapter(), second, adapter().supports.offsetGaps ? null : 3);
    assert.ok(second[0]!.offset > first[2]!.offset);
    assert.equal(await adapter().endOffset('g1'), second[1]!.offset + 1);
  });

  it('read honours fromOffset and maxRecords and is empty at or past the end', { timeout: TEST_TIMEOUT_MS }, async () => {
    const results = await adapter().append('g1', records('r', 10));
    const offsets = results.map((r) => r.offset);
    const middle = await adapter().read('g1', offsets[3]!, 4);
    assert.deepEqual(middle.map((r) => r.offset), offsets.slice(3, 7));
    assert.deepEqual((await adapter().read('g1', offsets[0]!, 1000)).map((r) => r.offset), offsets);
    const end = await adapter().endOffset('g1');
    assert.deepEqual(await adapter().read('g1', end, 10), []);
    assert.deepEqual(await adapter().read('g1', end + 5, 10), []);
    assert.deepEqual(await adapter().read('g1', offsets[0]!, 0), []);
  });

  it('an empty append resolves with no offsets and changes nothing', async () => {
    assert.deepEqual(await adapter().append('g1', []), []);
    assert.equal(await adapter().endOffset('g1'), 0);
  });

  it('timestamps are integers, equal on append and read, and never decrease', { timeout: TEST_TIMEOUT_MS }, async () => {
    const results = [...(await adapter().append('g1', records('t', 5))), ...(await adapter().append('g1', records('u', 5)))];
    const read = await readAll(adapter(), 'g1');
    assert.deepEqual(read.map((r) => r.timestampMs), results.map((r) => r.timestampMs));
    for (let i = 1; i < results.length; i++) {
      assert.ok(Number.isSafeInteger(results[i]!.timestampMs));
      assert.ok(results[i]!.timestampMs >= results[i - 1]!.timestampMs, 'timestamps never decrease');
    }
  });

  it('a value buffer changed after append or after read does not change the log', { timeout: TEST_TIMEOUT_MS }, async () => {
    const value = Buffer.from('original');
    const [result] = await adapter().append('g1', [{ key: 'k', value }]);
    value.fill(0);
    const [first] = await adapter().read('g1', result!.offset, 1);
    assert.equal(first!.value.toString(), 'original');
    first!.value.fill(0);
    const [second] = await adapter().read('g1', result!.offset, 1);
    assert.equal(second!.value.toString(), 'original');
  });
}

function registerConcurrencyTests(adapter: () => BrokerAdapter): void {
  it('concurrent appends from many callers get distinct offsets and all are readable', { timeout: TEST_TIMEOUT_MS }, async () => {
    const callers = Array.from({ length: 50 }, (_, c) => records(`c${c}`, 4));
    const results = await Promise.all(callers.map((inputs) => adapter().append('g1', inputs)));
    const offsets = results.flat().map((r) => r.offset);
    assert.equal(new Set(offsets).size, 200, 'every record got its own offset');
    results.forEach((r) => assertOffsets(adapter(), r, null));
    if (!adapter().supports.offsetGaps) assert.deepEqual([...offsets].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
    const byOffset = new Map((await readAll(adapter(), 'g1')).map((r) => [r.offset, r]));
    callers.forEach((inputs, c) => inputs.forEach((input, i) => assertRecordMatches(byOffset.get(results[c]![i]!.offset), input, results[c]![i]!)));
  });

  it('concurrent appends to several graphs do not interfere', { timeout: TEST_TIMEOUT_MS }, async () => {
    const graphs = ['ga', 'gb', 'gc'];
    await Promise.all(graphs.flatMap((g) => Array.from({ length: 10 }, (_, i) => adapter().append(g, [record(`${g}-${i}`)]))));
    for (const g of graphs) {
      const all = await readAll(adapter(), g);
      assert.equal(all.length, 10);
      assert.ok(all.every((r) => r.key?.startsWith(`key-${g}-`)), `graph ${g} holds only its own records`);
    }
  });
}

function registerTailTests(adapter: () => BrokerAdapter): void {
  it('tail delivers the backlog then live records with no gap and no duplicate', { timeout: TEST_TIMEOUT_MS }, async () => {
    const backlog = await adapter().append('g1', records('old', 25));
    const live: AppendResult[] = [];
    let seen = 0;
    const tailing = collectTail(adapter(), 'g1', backlog[0]!.offset, 25 + 30, (batch) => (seen += batch.length));
    // Appends race with the switch from catch-up to live waiting: the boundary a tail most often gets wrong.
    for (let i = 0; i < 5; i++) live.push(...(await adapter().append('g1', records(`race${i}`, 2))));
    await waitUntil(() => seen >= 35, 'the backlog and racing appends');
    for (let i = 0; i < 4; i++) live.push(...(await adapter().append('g1', records(`live${i}`, 5))));
    const batches = await tailing;
    assertTailBatches(batches, [...backlog, ...live].map((r) => r.offset));
  });

  it('tail starts at fromOffset, including an offset at the end of the log', { timeout: TEST_TIMEOUT_MS }, async () => {
    const results = await adapter().append('g1', records('m', 10));
    const fromMiddle = await collectTail(adapter(), 'g1', results[5]!.offset, 5);
    assertTailBatches(fromMiddle, results.slice(5).map((r) => r.offset));
    const end = await adapter().endOffset('g1');
    const fromEnd = collectTail(adapter(), 'g1', end, 3);
    const later = await adapter().append('g1', records('n', 3));
    assertTailBatches(await fromEnd, later.map((r) => r.offset));
  });

  it('tail on a graph that does not exist yet waits for its first records', { timeout: TEST_TIMEOUT_MS }, async () => {
    const tailing = collectTail(adapter(), 'fresh', 0, 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const results = await adapter().append('fresh', records('f', 2));
    assertTailBatches(await tailing, results.map((r) => r.offset));
  });

  it('several tails of one graph each see every record', { timeout: TEST_TIMEOUT_MS }, async () => {
    const tails = [collectTail(adapter(), 'g1', 0, 12), collectTail(adapter(), 'g1', 0, 12), collectTail(adapter(), 'g1', 0, 12)];
    const results: AppendResult[] = [];
    for (let i = 0; i < 4; i++) results.push(...(await adapter().append('g1', records(`s${i}`, 3))));
    for (const tail of tails) assertTailBatches(await tail, results.map((r) => r.offset));
  });

  it('tail ends cleanly when the signal aborts while it waits', { timeout: TEST_TIMEOUT_MS }, async () => {
    await adapter().append('g1', records('w', 2));
    const controller = new AbortController();
    const batches: LogRecord[][] = [];
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    for await (const batch of adapter().tail('g1', 2, controller.signal)) batches.push(batch);
    assert.deepEqual(batches, []);
    assert.ok(Date.now() - started < 2_000, 'the tail ended promptly after the abort');
  });

  it('tail yields nothing for an already aborted signal, and stops after an abort between batches', { timeout: TEST_TIMEOUT_MS }, async () => {
    await adapter().append('g1', records('x', 3));
    for await (const batch of adapter().tail('g1', 0, AbortSignal.abort())) assert.fail(`yielded ${batch.length} records after abort`);
    const controller = new AbortController();
    let iterations = 0;
    for await (const batch of adapter().tail('g1', 0, controller.signal)) {
      iterations++;
      assert.ok(batch.length > 0);
      controller.abort();
      void adapter().append('g1', records('y', 1));
    }
    assert.equal(iterations, 1);
  });

  it('closing the adapter ends its tails', { timeout: TEST_TIMEOUT_MS }, async () => {
    const controller = new AbortController();
    const tailing = (async () => {
      let count = 0;
      for await (const batch of adapter().tail('g1', 0, controller.signal)) count += batch.length;
      return count;
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await adapter().close();
    assert.equal(await tailing, 0);
  });
}

function registerGraphTests(adapter: () => BrokerAdapter): void {
  it('graphs are isolated logs with their own offsets', { timeout: TEST_TIMEOUT_MS }, async () => {
    const alpha = await adapter().append('alpha', records('a', 3));
    const beta = await adapter().append('beta', records('b', 2));
    assertOffsets(adapter(), alpha, 0);
    assertOffsets(adapter(), beta, 0);
    assert.deepEqual((await readAll(adapter(), 'alpha')).map((r) => r.key), ['key-a-0', 'key-a-1', 'key-a-2']);
    assert.deepEqual((await readAll(adapter(), 'beta')).map((r) => r.key), ['key-b-0', 'key-b-1']);
    assert.equal(await adapter().endOffset('beta'), beta[1]!.offset + 1);
    const graphs = await adapter().listGraphs();
    assert.ok(graphs.includes('alpha') && graphs.includes('beta'));
    assert.deepEqual(graphs, [...graphs].sort(), 'listGraphs is sorted');
  });

  it('ensureGraph creates an empty graph and is idempotent', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.equal(await adapter().hasGraph('orders'), false);
    await adapter().ensureGraph('orders');
    await adapter().ensureGraph('orders');
    await Promise.all([adapter().ensureGraph('orders'), adapter().ensureGraph('orders')]);
    assert.equal(await adapter().hasGraph('orders'), true);
    assert.equal((await adapter().listGraphs()).filter((g) => g === 'orders').length, 1);
    assert.equal(await adapter().endOffset('orders'), 0);
    assert.deepEqual(await adapter().read('orders', 0, 10), []);
    const results = await adapter().append('orders', records('o', 1));
    assertOffsets(adapter(), results, 0);
  });

  it('an unknown graph reads as empty and is not created by reading it', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.equal(await adapter().endOffset('ghost'), 0);
    assert.deepEqual(await adapter().read('ghost', 0, 10), []);
    assert.equal(await adapter().hasGraph('ghost'), false);
    assert.ok(!(await adapter().listGraphs()).includes('ghost'));
  });

  it('invalid graph names are rejected by every method', async () => {
    for (const bad of ['', 'Upper', 'has space', '../escape', '-dash-first', 'x'.repeat(64)]) {
      await assert.rejects(async () => adapter().append(bad, records('z', 1)), Error, `append ${JSON.stringify(bad)}`);
      await assert.rejects(async () => adapter().read(bad, 0, 1));
      await assert.rejects(async () => adapter().endOffset(bad));
      await assert.rejects(async () => adapter().ensureGraph(bad));
      await assert.rejects(async () => adapter().hasGraph(bad));
      await assert.rejects(async () => {
        for await (const batch of adapter().tail(bad, 0, AbortSignal.abort())) void batch;
      });
    }
    assert.deepEqual(await adapter().listGraphs(), []);
  });
}

function registerLargeValueTests(adapter: () => BrokerAdapter): void {
  it('large values round-trip intact', { timeout: TEST_TIMEOUT_MS }, async () => {
    const big = randomBytes(1024 * 1024);
    const inputs: LogRecordInput[] = [
      { key: 'big', value: big, headers: { size: String(big.length) } },
      ...Array.from({ length: 6 }, (_, i) => ({ key: `mid-${i}`, value: randomBytes(256 * 1024) })),
    ];
    const results = await adapter().append('g1', inputs);
    const read = await readAll(adapter(), 'g1');
    assert.equal(read.length, inputs.length);
    inputs.forEach((input, i) => assertRecordMatches(read[i], input, results[i]!));
  });
}

function registerReopenTests(ctx: { harness?: ConformanceHarness; adapter?: BrokerAdapter }): void {
  it('reopening keeps every acknowledged record (durable adapters)', { timeout: TEST_TIMEOUT_MS }, async (t: TestContext) => {
    const first = ctx.adapter!;
    if (!first.supports.durable) {
      t.skip(`${first.name}: supports.durable is false`);
      return;
    }
    assert.ok(ctx.harness!.reopen, 'a durable adapter must provide reopen() to the conformance suite');
    const inputs = records('d', 20);
    const results = [...(await first.append('g1', inputs.slice(0, 10))), ...(await first.append('g1', inputs.slice(10)))];
    await first.append('g2', records('e', 3));
    const graphsBefore = await first.listGraphs();
    await first.close();
    ctx.adapter = await ctx.harness!.reopen();
    await ctx.adapter.open();
    const read = await readAll(ctx.adapter, 'g1');
    inputs.forEach((input, i) => assertRecordMatches(read[i], input, results[i]!));
    assert.deepEqual(await ctx.adapter.listGraphs(), graphsBefore);
    assert.equal(await ctx.adapter.endOffset('g2'), 3);
    const next = await ctx.adapter.append('g1', records('f', 1));
    assert.ok(next[0]!.offset > results[19]!.offset);
    assert.ok(next[0]!.timestampMs >= results[19]!.timestampMs, 'timestamps keep increasing across a reopen');
    assertOffsets(ctx.adapter, next, ctx.adapter.supports.offsetGaps ? null : 20);
  });
}
