// Live SSE fan-out in rounds (src/api/sse-round.ts) over real sockets: the reports of one materializer
// flush (a transactions:batch) reach many streams, each event exactly once and in order, while streams
// join from the tx index and leave; filtered streams mixing events taken live with events that need a
// type lookup keep their order; a stream whose socket fills with events the round wrote gets the rest
// through the buffered path, in order; an HTTP/1.0 client gets the same events without chunked framing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { json, publish, withApp } from './helpers.js';

const G = 'rounds';

interface Event {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** An SSE stream read with node:http (its own chunked parser), events parsed as they arrive. */
class Stream {
  readonly events: Event[] = [];
  connected = false;
  ended = false;
  private req: http.ClientRequest | null = null;
  private res: http.IncomingMessage | null = null;
  private text = '';
  private waiters: (() => void)[] = [];

  constructor(app: FastifyInstance, query: string, { paused = false } = {}) {
    const { port } = app.server.address() as AddressInfo;
    this.req = http.get({ host: '127.0.0.1', port, path: `/v1/graphs/${G}/events${query}`, agent: false }, (res) => {
      this.res = res;
      assert.equal(res.statusCode, 200);
      res.setEncoding('utf8');
      if (paused) res.pause();
      res.on('data', (chunk: string) => this.take(chunk));
      res.on('close', () => {
        this.ended = true;
        this.wake();
      });
    });
    this.req.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }

  private take(chunk: string): void {
    this.text += chunk;
    let end: number;
    while ((end = this.text.indexOf('\n\n')) >= 0) {
      const block = this.text.slice(0, end);
      this.text = this.text.slice(end + 2);
      if (block.startsWith(':')) {
        this.connected = true;
        continue;
      }
      const fields = new Map(block.split('\n').map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]));
      this.events.push({ id: Number(fields.get('id') ?? NaN), event: fields.get('event') ?? '', data: JSON.parse(fields.get('data') ?? '{}') });
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  resume(): void {
    this.res?.resume();
  }

  ids(): number[] {
    return this.events.map((e) => e.id);
  }

  async until(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.ended) throw new Error(`stream ended after ${this.events.length} events`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${this.events.length} events`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.req?.destroy();
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function publishBatch(app: FastifyInstance, txs: unknown[]): Promise<number[]> {
  const res = await app.inject({ method: 'POST', url: `/v1/graphs/${G}/transactions:batch`, payload: { transactions: txs } });
  assert.equal(res.statusCode, 200, res.body);
  return (json(res)['results'] as { offset: number }[]).map((r) => r.offset);
}

/** The tx log's view of every offset in [0, last]: what each SSE event must carry (without ops). */
async function logView(app: FastifyInstance, last: number): Promise<Map<number, Record<string, unknown>>> {
  const res = await app.inject({ method: 'GET', url: `/v1/graphs/${G}/transactions?from=0&limit=1000` });
  const items = json(res)['items'] as Record<string, unknown>[];
  assert.equal(items.length, last + 1);
  return new Map(items.map(({ ops: _ops, ...item }) => [item['offset'] as number, item]));
}

async function listening(fn: (app: FastifyInstance) => Promise<void>, overrides = {}): Promise<void> {
  await withApp(async ({ app }) => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    await fn(app);
  }, overrides);
}

test('the reports of each flush reach every live stream once, in order, while streams join and leave', async () => {
  await listening(async (app) => {
    await publish(app, G, { ops: [{ op: 'create', id: 'seed', type: 'Odd' }] }); // offset 0
    // More live streams than one slice of a round writes (128), so rounds are written in slices while
    // streams join (their catch-up flushes what a round in progress holds for them) and leave.
    const live = Array.from({ length: 150 }, () => new Stream(app, ''));
    const leaving = [new Stream(app, ''), new Stream(app, '')];
    const evens = new Stream(app, '?types=Even');
    for (const s of [...live, ...leaving, evens]) await s.until(() => s.connected);
    const joining: Stream[] = [];
    const BATCHES = 10;
    const PER = 40;
    let last = 0;
    for (let b = 0; b < BATCHES; b++) {
      const txs = Array.from({ length: PER }, (_, i) => {
        const n = b * PER + i;
        return { ops: [{ op: 'create', id: `e${n}`, type: n % 2 === 0 ? 'Even' : 'Odd' }, { op: 'set', id: `e${n}`, attr: 'n', value: n }] };
      });
      // Not awaited: the next stream opens (and catches up from the tx index) while this batch is folded and fanned out.
      const published = publishBatch(app, txs);
      if (b === 3) for (const s of leaving) s.close();
      if (b % 3 === 1) joining.push(new Stream(app, '?from=0'));
      last = (await published).at(-1)!;
    }
    const open = [...live, evens, ...joining];
    await Promise.all([...live, ...joining].map((s) => s.until(() => s.ids().at(-1) === last)));
    const lastEven = 1 + (BATCHES * PER - 2); // offset of the last tx creating an Even (n = offset - 1)
    await evens.until(() => evens.ids().at(-1) === lastEven);
    for (const s of open) s.close();

    const view = await logView(app, last);
    for (const s of live) {
      assert.deepEqual(s.ids(), range(1, last), 'a live stream gets every tx after it subscribed');
      for (const e of s.events) assert.deepEqual(e.data, view.get(e.id));
    }
    for (const s of joining) {
      assert.deepEqual(s.ids(), range(0, last), 'catch-up flows into the rounds with no gap and no duplicate');
      for (const e of s.events) assert.deepEqual(e.data, view.get(e.id));
    }
    for (const s of leaving) {
      const ids = s.ids();
      assert.deepEqual(ids, range(1, ids.at(-1) ?? 0), 'a stream that left got a prefix, in order');
    }
    assert.deepEqual(evens.ids(), range(0, BATCHES * PER - 1).filter((n) => n % 2 === 0).map((n) => n + 1));
    for (const e of evens.events) {
      assert.deepEqual((e.data['changes'] as { id: string }[]).map((c) => c.id), [`e${e.id - 1}`, `e${e.id - 1}`]);
    }
  });
});

test('a type filter mixing live events and looked-up ones keeps the order of the log', async () => {
  await listening(async (app) => {
    // Entities created before the stream opens: a change to them needs a type lookup (the buffered path).
    await publishBatch(app, Array.from({ length: 20 }, (_, i) => ({ ops: [{ op: 'create', id: `old${i}`, type: i % 2 === 0 ? 'T' : 'U' }] })));
    const stream = new Stream(app, '?types=T');
    const everything = new Stream(app, '');
    await stream.until(() => stream.connected);
    await everything.until(() => everything.connected);
    const expected: number[] = [];
    let offset = 20;
    for (let b = 0; b < 5; b++) {
      const txs = [];
      for (let i = 0; i < 20; i++) {
        // Alternating: a created T (known at once), a set on an old T or U (looked up).
        if (i % 2 === 0) txs.push({ ops: [{ op: 'create', id: `new${b}-${i}`, type: 'T' }] });
        else txs.push({ ops: [{ op: 'set', id: `old${(b + i) % 20}`, attr: 'n', value: b * 100 + i }] });
        if (i % 2 === 0 || ((b + i) % 20) % 2 === 0) expected.push(offset);
        offset++;
      }
      await publishBatch(app, txs);
    }
    await everything.until(() => everything.ids().at(-1) === offset - 1);
    await stream.until(() => stream.ids().at(-1) === expected.at(-1));
    stream.close();
    everything.close();
    assert.deepEqual(stream.ids(), expected);
    assert.deepEqual(everything.ids(), range(20, offset - 1));
  });
});

test('a stream whose socket fills gets the rest through the buffered path, in order, once it reads', async () => {
  await listening(
    async (app) => {
      await app.inject({ method: 'PUT', url: `/v1/graphs/${G}` });
      const slow = new Stream(app, '', { paused: true });
      const fast = new Stream(app, '');
      await fast.until(() => fast.connected);
      await new Promise((r) => setTimeout(r, 50)); // the paused stream is subscribed too (its comment is unread)
      const value = 'v'.repeat(16 * 1024);
      const TOTAL = 600;
      for (let b = 0; b < TOTAL / 50; b++) {
        await publishBatch(app, Array.from({ length: 50 }, (_, i) => ({ ops: [{ op: 'create', id: `n${b}-${i}`, type: 'T' }, { op: 'set', id: `n${b}-${i}`, attr: 'blob', value }] })));
      }
      await fast.until(() => fast.ids().length === TOTAL);
      slow.resume();
      await slow.until(() => slow.ids().length === TOTAL, 30_000);
      slow.close();
      fast.close();
      assert.deepEqual(slow.ids(), range(0, TOTAL - 1));
      assert.ok(slow.events.every((e) => e.event === 'tx'), 'no lagged event: the buffer limit was not reached');
      assert.deepEqual(fast.ids(), range(0, TOTAL - 1));
    },
    { sseBufferEventsMax: 100_000 },
  );
});

test('an HTTP/1.0 client gets the events unframed, ending with the connection', async () => {
  await listening(async (app) => {
    await publish(app, G, { ops: [{ op: 'create', id: 'a', type: 'T' }] });
    const { port } = app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (raw += chunk));
    socket.write(`GET /v1/graphs/${G}/events?from=0 HTTP/1.0\r\nHost: localhost\r\n\r\n`);
    const deadline = Date.now() + 10_000;
    const waitFor = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(raw)) {
        assert.ok(Date.now() < deadline, `timed out: ${raw}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await waitFor(/id: 0\n/);
    await publishBatch(app, [{ ops: [{ op: 'create', id: 'b', type: 'T' }] }, { ops: [{ op: 'create', id: 'c', type: 'T' }] }]);
    await waitFor(/id: 2\n/);
    socket.destroy();
    const [head, body] = raw.split('\r\n\r\n', 2) as [string, string];
    assert.match(head, /^HTTP\/1\.[01] 200/);
    assert.doesNotMatch(head, /transfer-encoding: chunked/i);
    // No chunk-size lines: the body is the event stream itself.
    assert.match(body, /^: connected\n\nid: 0\nevent: tx\ndata: \{[^\n]*\}\n\nid: 1\nevent: tx\ndata: \{[^\n]*\}\n\nid: 2\nevent: tx\ndata: \{[^\n]*\}\n\n$/);
  });
});
