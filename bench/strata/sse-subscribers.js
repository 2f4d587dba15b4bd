// Child process: `count` SSE subscribers on one graph (one of several such workers, so that parsing
// the streams does not share one client core with the publisher). Kept minimal so it measures the
// server: a raw TCP socket per stream (an HTTP/1.1 GET; the status line is checked, the rest of the
// head skipped); each read is scanned as bytes for the two things needed, the event id (`id: N`) and
// the publish time the publisher put in the tx's meta (`"<key>":"<µs>"`). Nothing is decoded or
// parsed as JSON, and HTTP chunk framing needs no parsing: the server writes whole events per chunk,
// so chunk-size lines only ever sit between events, where the scan skips them. Latency = arrival - publish time on CLOCK_MONOTONIC (process.hrtime, shared by every process
// on the machine), kept in a histogram of 50 µs buckets. Each connection also checks that ids arrive
// in order without a gap or a duplicate.
// Protocol with the parent (IPC): → {ready} once every stream is open; ← {finish: {first, last,
// waitMs}} after publishing; → {result} once every stream has seen `last` (or after waitMs).

import { connect } from 'node:net';

const [origin, graph, countText, metaKey, warmupText] = process.argv.slice(2);
// Events published in the first `warmup` seconds (JIT, connections, TCP buffers growing) are checked
// like the others but left out of the latency histogram.
const warmupUs = Number(warmupText ?? 0) * 1e6;
const count = Number(countText);
const url = new URL(`/v1/graphs/${graph}/events`, origin);

const BUCKET_US = 50;
const histogram = new Uint32Array(1_200_000); // up to 60 s
const ID = Buffer.from('id: ');
const MARK = Buffer.from(`"${metaKey}":"`);
const LAGGED = Buffer.from('event: lagged');
const DOUBLE_NL = Buffer.from('\n\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const NL = 10;
const QUOTE = 34;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
// Worst latency per second of publishing (by the event's publish time): where in the run the tail is.
const worstBySecond = new Float64Array(600);
let firstT = -1;

let connected = 0;
let events = 0;
let chunks = 0; // socket reads that carried events: how well the server batches its writes
let lagged = 0;
let errors = 0;
// Per connection: first and last id seen, events, out-of-order ids (gaps or duplicates).
const firstId = new Float64Array(count).fill(-1);
const lastId = new Float64Array(count).fill(-1);
const seen = new Uint32Array(count);
const disorder = new Uint32Array(count);
const closed = new Uint8Array(count);

/** Decimal digits at buf[i…] up to the byte `stop`; -1 if `stop` is not in the buffer. */
function digits(buf, i, stop) {
  let n = 0;
  for (; i < buf.length; i++) {
    const c = buf[i];
    if (c === stop) return n;
    n = n * 10 + (c - 48);
  }
  return -1;
}

/** The events that start in buf[from, end) (end: where the last complete event's blank line starts). */
function scan(k, buf, from, end, at) {
  let i = buf.indexOf(ID, from);
  while (i >= 0 && i < end) {
    const id = digits(buf, i + ID.length, NL);
    const m = buf.indexOf(MARK, i);
    if (m < 0 || m >= end) break; // an event without a publish time is not one of ours
    const t = digits(buf, m + MARK.length, QUOTE);
    if (lastId[k] >= 0 && id !== lastId[k] + 1) disorder[k]++;
    if (firstId[k] < 0) firstId[k] = id;
    lastId[k] = id;
    seen[k]++;
    events++;
    if (firstT < 0) firstT = t;
    if (t - firstT >= warmupUs) histogram[Math.min(histogram.length - 1, Math.floor((at - t) / BUCKET_US))]++;
    const second = Math.min(worstBySecond.length - 1, Math.max(0, Math.floor((t - firstT) / 1e6)));
    if (at - t > worstBySecond[second]) worstBySecond[second] = at - t;
    i = buf.indexOf(ID, m);
  }
}

function subscribe(k) {
  const socket = connect(Number(url.port), url.hostname);
  socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`);
  let head = Buffer.alloc(0); // the response head until it is complete, then null
  let carry = null;
  socket.on('data', (data) => {
    const at = nowUs();
    let chunk = data;
    if (head !== null) {
      head = Buffer.concat([head, chunk]);
      const h = head.indexOf(HEAD_END);
      if (h < 0) return;
      if (!head.subarray(0, 16).toString('latin1').startsWith('HTTP/1.1 200')) {
        process.stderr.write(`sse subscriber: ${head.subarray(0, head.indexOf('\r\n')).toString('latin1')}\n`);
        errors++;
        socket.destroy();
        return;
      }
      chunk = head.subarray(h + HEAD_END.length);
      head = null;
      if (++connected === count) process.send({ ready: true });
    }
    // Only complete events are scanned. An event split across reads is completed with the head of
    // this chunk alone (no copy of the whole chunk); the tail after the last blank line waits.
    const before = events;
    let from = 0;
    if (carry !== null) {
      let upTo; // bytes of this chunk that end the carried event, its blank line included
      if (carry[carry.length - 1] === NL && chunk[0] === NL) upTo = 1;
      else {
        const j = chunk.indexOf(DOUBLE_NL);
        if (j < 0) {
          carry = Buffer.concat([carry, chunk]);
          return;
        }
        upTo = j + 2;
      }
      const joined = Buffer.concat([carry, chunk.subarray(0, upTo)]);
      scan(k, joined, 0, joined.length - 2, at);
      if (joined.indexOf(LAGGED) >= 0) lagged++;
      carry = null;
      from = upTo;
    }
    const end = chunk.lastIndexOf(DOUBLE_NL);
    if (end >= from) {
      scan(k, chunk, from, end, at);
      // A final `lagged` event is the last one of its stream.
      if (chunk.indexOf(LAGGED, Math.max(from, end - 200)) >= 0) lagged++;
      from = end + 2;
    }
    if (from < chunk.length) carry = Buffer.from(chunk.subarray(from));
    if (events > before) chunks++;
  });
  socket.on('close', () => (closed[k] = 1));
  socket.on('error', () => {
    errors++;
    closed[k] = 1;
  });
}

function result(first, last) {
  let complete = 0;
  let disordered = 0;
  let closedCount = 0;
  for (let k = 0; k < count; k++) {
    if (firstId[k] === first && lastId[k] === last && disorder[k] === 0 && seen[k] === last - first + 1) complete++;
    if (disorder[k] > 0) disordered++;
    closedCount += closed[k];
  }
  const buckets = [];
  for (let i = 0; i < histogram.length; i++) if (histogram[i] > 0) buckets.push(i, histogram[i]);
  const cpu = process.cpuUsage();
  // The first stream that missed something, for the report.
  let incomplete = null;
  for (let k = 0; k < count && incomplete === null; k++) {
    if (!(firstId[k] === first && lastId[k] === last && disorder[k] === 0 && seen[k] === last - first + 1)) {
      incomplete = { firstId: firstId[k], lastId: lastId[k], seen: seen[k], disorder: disorder[k], closed: closed[k] === 1, expected: { first, last } };
    }
  }
  return { subscribers: count, events, chunks, complete, disordered, lagged, errors, closed: closedCount, cpuSeconds: (cpu.user + cpu.system) / 1e6, incomplete, firstT, worstBySecond: Array.from(worstBySecond), bucketUs: BUCKET_US, buckets };
}

process.on('message', (msg) => {
  if (!msg.finish) return;
  const { first, last, waitMs } = msg.finish;
  const deadline = Date.now() + waitMs;
  const poll = () => {
    let pending = 0;
    for (let k = 0; k < count; k++) if (lastId[k] < last && !closed[k]) pending++;
    if (pending > 0 && Date.now() < deadline) return void setTimeout(poll, 20);
    process.send({ result: result(first, last) }, () => process.exit(0));
  };
  poll();
});

for (let k = 0; k < count; k++) subscribe(k);
