// SSE subscriptions over a real socket: catch-up then live, resume with Last-Event-ID / from= with every
// offset exactly once and in order, filters, heartbeats, the client limit and the lagged close.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { assertError, publish, withApp } from './helpers.js';

const G = 'feed';

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** A minimal SSE client on fetch: yields events and counts comment lines (heartbeats). */
class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  status = 0;
  private readonly controller = new AbortController();
  private buffer = '';
  private waiters: (() => void)[] = [];
  private done = false;

  static async open(app: FastifyInstance, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    const address = app.server.address();
    assert.ok(address !== null && typeof address === 'object');
    const res = await fetch(`http://127.0.0.1:${address.port}${path}`, { headers, signal: client.controller.signal });
    client.status = res.status;
    if (res.body !== null && res.status === 200) void client.pump(res.body);
    else client.buffer = await res.text();
    return client;
  }

  get text(): string {
    return this.buffer;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        this.buffer += decoder.decode(chunk, { stream: true });
        this.parse();
      }
    } catch {
      // aborted by close()
    }
    this.done = true;
    this.wake();
  }

  private parse(): void {
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event: SseEvent = { event: 'message', data: '' };
      let isComment = true;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        isComment = false;
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'data') event.data += value;
      }
      if (isComment) this.comments++;
      else this.events.push(event);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `predicate` holds (or the stream ends), with a deadline. */
  async until(predicate: (c: SseClient) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (this.done) throw new Error(`stream ended; events: ${JSON.stringify(this.events)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; events: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async ended(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.done) {
      if (Date.now() > deadline) throw new Error('stream did not end');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  offsets(): number[] {
    return this.events.filter((e) => e.event === 'tx').map((e) => Number(e.id));
  }

  close(): void {
    this.controller.abort();
  }
}

async function listening<T>(fn: (app: FastifyInstance) => Promise<T>, overrides = {}): Promise<void> {
  await withApp(async ({ app }) => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    await fn(app);
  }, overrides);
}

const create = (id: string, type = 'Thing') => ({ ops: [{ op: 'create', id, type }] });

test('catch-up from= flows into live delivery; Last-Event-ID resumes with no gap and no duplicate', async () => {
  await listening(async (app) => {
    for (let i = 0; i < 3; i++) await publish(app, G, create(`a${i}`));
    const first = await SseClient.open(app, `/v1/graphs/${G}/events?from=0`);
    assert.equal(first.status, 200);
    await first.until((c) => c.offsets().length === 3);
    for (let i = 3; i < 6; i++) await publish(app, G, create(`a${i}`));
    await first.until((c) => c.offsets().length === 6);
    first.close();
    const seen = first.offsets();
    // Published while nobody listens: the resumed stream must deliver these from the tx index.
    for (let i = 6; i < 9; i++) await publish(app, G, create(`a${i}`));
    const resumed = await SseClient.open(app, `/v1/graphs/${G}/events?from=0`, { 'Last-Event-ID': String(seen.at(-1)) });
    await resumed.until((c) => c.offsets().length === 3);
    await publish(app, G, create('a9'));
    await resumed.until((c) => c.offsets().length === 4);
    resumed.close();
    assert.deepEqual([...seen, ...resumed.offsets()], Array.from({ length: 10 }, (_, i) => i));
    const event = resumed.events[0];
    assert.equal(event?.event, 'tx');
    const data = JSON.parse(event?.data ?? '{}');
    assert.equal(data.offset, 6);
    assert.equal(data.status, 'committed');
    assert.ok(!Number.isNaN(Date.parse(data.time)));
    assert.deepEqual(data.changes, [{ kind: 'created', id: 'a6', type: 'Thing', entity: 'node' }]);
    assert.equal(data.ops, undefined);
  });
});

test('without a position only new txs arrive; aborted txs are delivered with their error', async () => {
  await listening(async (app) => {
    await publish(app, G, create('old'));
    const client = await SseClient.open(app, `/v1/graphs/${G}/events`);
    await client.until((c) => c.comments >= 1); // connected: the subscription exists
    await publish(app, G, create('old'), 409);
    await publish(app, G, create('new'));
    await client.until((c) => c.offsets().length === 2);
    client.close();
    assert.deepEqual(client.offsets(), [1, 2]);
    const aborted = JSON.parse(client.events[0]?.data ?? '{}');
    assert.equal(aborted.status, 'aborted');
    assert.equal(aborted.error.code, 'entity_exists');
    assert.equal(aborted.error.op, 0);
    assert.deepEqual(aborted.changes, []);
  });
});

test('filters keep matching changes and drop reports with none (aborted ones included)', async () => {
  await listening(async (app) => {
    await publish(app, G, {
      ops: [
        { op: 'create', id: 'o1', type: 'Order' },
        { op: 'create', id: 'c1', type: 'Customer' },
      ],
    });
    await publish(app, G, { ops: [{ op: 'set', id: 'o1', attr: 'status', value: 'open' }, { op: 'set', id: 'c1', attr: 'name', value: 'Ada' }] });
    await publish(app, G, create('o1', 'Order'), 409);
    await publish(app, G, { ops: [{ op: 'set', id: 'c1', attr: 'status', value: 'vip' }] });
    const byType = await SseClient.open(app, `/v1/graphs/${G}/events?from=0&types=Order`);
    const byAttr = await SseClient.open(app, `/v1/graphs/${G}/events?from=0&attrs=status,nothing`);
    const byIdAndAttr = await SseClient.open(app, `/v1/graphs/${G}/events?from=0&ids=c1&attrs=name`);
    await publish(app, G, { ops: [{ op: 'terminate', id: 'o1' }] });
    await byType.until((c) => c.offsets().length === 3);
    await byAttr.until((c) => c.offsets().length === 2);
    await byIdAndAttr.until((c) => c.offsets().length === 1);
    await publish(app, G, create('marker', 'Order'));
    await byType.until((c) => c.offsets().length === 4);
    for (const c of [byType, byAttr, byIdAndAttr]) c.close();
    const changes = (c: SseClient) => c.events.map((e) => JSON.parse(e.data).changes);
    assert.deepEqual(byType.offsets(), [0, 1, 4, 5]);
    assert.deepEqual(changes(byType).slice(0, 3), [
      [{ kind: 'created', id: 'o1', type: 'Order', entity: 'node' }],
      [{ kind: 'set', id: 'o1', attr: 'status', old: null, new: 'open' }],
      [{ kind: 'terminated', id: 'o1' }],
    ]);
    assert.deepEqual(byAttr.offsets(), [1, 3]);
    assert.deepEqual(byIdAndAttr.offsets(), [1]);
    assert.deepEqual(changes(byIdAndAttr), [[{ kind: 'set', id: 'c1', attr: 'name', old: null, new: 'Ada' }]]);
  });
});

test('a live stream following ids gets exactly the txs naming them, with other streams on the graph', async () => {
  await listening(async (app) => {
    await publish(app, G, { ops: ['a', 'b', 'c', 'd'].map((id) => ({ op: 'create', id, type: 'Thing' })) });
    const followAB = await SseClient.open(app, `/v1/graphs/${G}/events?ids=a,b`);
    const followD = await SseClient.open(app, `/v1/graphs/${G}/events?ids=d`);
    const all = await SseClient.open(app, `/v1/graphs/${G}/events`);
    for (const c of [followAB, followD, all]) await c.until((x) => x.comments >= 1);
    const touching = [['a'], ['c'], ['b', 'c'], ['c'], ['a', 'b'], ['d'], ['c']];
    for (const [i, ids] of touching.entries()) await publish(app, G, { ops: ids.map((id) => ({ op: 'set', id, attr: 'n', value: i })) });
    await all.until((c) => c.offsets().length === touching.length);
    await followAB.until((c) => c.offsets().length === 3);
    await followD.until((c) => c.offsets().length === 1);
    await publish(app, G, { ops: [{ op: 'set', id: 'a', attr: 'n', value: -1 }] });
    await followAB.until((c) => c.offsets().length === 4);
    for (const c of [followAB, followD, all]) c.close();
    assert.deepEqual(followAB.offsets(), [1, 3, 5, 8]);
    assert.deepEqual(followD.offsets(), [6]);
    assert.deepEqual(JSON.parse(followAB.events[1]!.data).changes.map((c: { id: string }) => c.id), ['b']);
  });
});

test('heartbeat comments flow on an idle stream', async () => {
  await listening(
    async (app) => {
      await app.inject({ method: 'PUT', url: `/v1/graphs/${G}` });
      const client = await SseClient.open(app, `/v1/graphs/${G}/events`);
      await client.until((c) => c.comments >= 3, 3000);
      client.close();
      assert.equal(client.events.length, 0);
    },
    { sseHeartbeatMs: 50 },
  );
});

test('bad positions, unknown graphs and the client limit are refused before streaming', async () => {
  await listening(
    async (app) => {
      await publish(app, G, create('a'));
      assertError(await app.inject({ method: 'GET', url: `/v1/graphs/nope/events` }), 404, 'graph_not_found');
      assertError(await app.inject({ method: 'GET', url: `/v1/graphs/${G}/events?from=x` }), 400, 'invalid_offset');
      assertError(await app.inject({ method: 'GET', url: `/v1/graphs/${G}/events?from=50` }), 400, 'offset_out_of_range');
      const badHeader = { method: 'GET' as const, url: `/v1/graphs/${G}/events`, headers: { 'last-event-id': 'abc' } };
      assertError(await app.inject(badHeader), 400, 'invalid_offset');
      assertError(await app.inject({ method: 'GET', url: `/v1/graphs/${G}/events?kinds=x` }), 400, 'invalid_request');
      const first = await SseClient.open(app, `/v1/graphs/${G}/events?from=0`);
      await first.until((c) => c.offsets().length === 1);
      const second = await SseClient.open(app, `/v1/graphs/${G}/events?from=0`);
      assert.equal(second.status, 429);
      assert.equal(JSON.parse(second.text).error.code, 'too_many_subscribers');
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /^strata_sse_clients 1$/m);
      first.close();
      // The slot frees once the server sees the disconnect.
      let third: SseClient | null = null;
      for (let i = 0; i < 50 && (third === null || third.status === 429); i++) {
        await new Promise((r) => setTimeout(r, 20));
        third = await SseClient.open(app, `/v1/graphs/${G}/events?from=0`);
      }
      assert.equal(third?.status, 200);
      third?.close();
    },
    { sseClientsMax: 1 },
  );
});

test('a client that stops reading is closed with event: lagged and can resume from its offset', async () => {
  await listening(
    async (app) => {
      await app.inject({ method: 'PUT', url: `/v1/graphs/${G}` });
      const address = app.server.address();
      assert.ok(address !== null && typeof address === 'object');
      // A raw fetch whose body is never read: the socket fills, the server waits on 'drain', the
      // subscription's buffer overflows.
      const controller = new AbortController();
      const res = await fetch(`http://127.0.0.1:${address.port}/v1/graphs/${G}/events`, { signal: controller.signal });
      assert.equal(res.status, 200);
      const value = 'v'.repeat(16 * 1024);
      const batch = Array.from({ length: 50 }, (_, i) => ({ ops: [{ op: 'create', id: `n${i}`, type: 'T' }, { op: 'set', id: `n${i}`, attr: 'blob', value }] }));
      for (let round = 0; round < 12; round++) {
        const txs = batch.map((tx, i) => ({ ops: tx.ops.map((op) => ({ ...op, id: `n${round}-${i}` })) }));
        const r = await app.inject({ method: 'POST', url: `/v1/graphs/${G}/transactions:batch`, payload: { transactions: txs } });
        assert.equal(r.statusCode, 200, r.body);
      }
      const text = await res.text(); // now read everything: the server must have ended the stream
      const lagged = /event: lagged\ndata: (.*)\n/.exec(text);
      assert.ok(lagged !== null, 'a lagged event closes the stream');
      const { resumeFrom } = JSON.parse(lagged[1] ?? '{}');
      const delivered = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      assert.ok(delivered.length < 600, 'the slow client did not receive everything');
      assert.equal(resumeFrom, (delivered.at(-1) ?? -1) + 1, 'resumeFrom follows the last delivered event');
      const resumed = await SseClient.open(app, `/v1/graphs/${G}/events?from=${resumeFrom}`);
      await resumed.until((c) => c.offsets().length === 600 - resumeFrom, 20_000);
      resumed.close();
      assert.deepEqual([...delivered, ...resumed.offsets()], Array.from({ length: 600 }, (_, i) => i));
    },
    { sseBufferEventsMax: 4 },
  );
});

test('closing the app ends open streams instead of waiting for clients to leave', async () => {
  await withApp(async ({ app }) => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    await publish(app, G, create('a'));
    const client = await SseClient.open(app, `/v1/graphs/${G}/events?from=0`);
    await client.until((c) => c.offsets().length === 1);
    const started = Date.now();
    await app.close();
    await client.ended();
    assert.ok(Date.now() - started < 2000, 'close did not hang on the open stream');
  });
});
