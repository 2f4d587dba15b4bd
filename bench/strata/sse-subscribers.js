// Child process: N SSE subscribers on one graph. Each event's publish time travels in the tx's meta
// (`t`, ms since the epoch with µs decimals); delivery latency = arrival - t, kept in a 0.1 ms histogram.
// Protocol with the parent (IPC): → {ready}, ← {stop}, → {result}.

import http from 'node:http';

const [origin, graph, countText] = process.argv.slice(2);
const count = Number(countText);
const url = new URL(`/v1/graphs/${graph}/events`, origin);
const BUCKET_MS = 0.1;
const histogram = new Uint32Array(200_000); // up to 20 s
let events = 0;
let connected = 0;
let lagged = 0;
let closed = 0;
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const MARK = '"t":"';

function now() {
  return performance.timeOrigin + performance.now();
}

function subscribe() {
  const req = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
    res.setEncoding('utf8');
    let carry = '';
    let ready = false;
    res.on('data', (chunk) => {
      const at = now();
      if (!ready) {
        ready = true;
        if (++connected === count) process.send({ ready: true });
      }
      const text = carry + chunk;
      const end = text.lastIndexOf('\n\n');
      if (end < 0) {
        carry = text;
        return;
      }
      carry = text.slice(end + 2);
      let i = text.indexOf(MARK);
      while (i >= 0 && i < end) {
        const start = i + MARK.length;
        const t = Number(text.slice(start, text.indexOf('"', start)));
        histogram[Math.min(histogram.length - 1, Math.floor((at - t) / BUCKET_MS))]++;
        events++;
        i = text.indexOf(MARK, start);
      }
      if (text.includes('event: lagged')) lagged++;
    });
    res.on('close', () => closed++);
  });
  req.on('error', () => closed++);
}

function percentileMs(p) {
  const target = Math.ceil((p / 100) * events);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i];
    if (seen >= target) return (i + 1) * BUCKET_MS;
  }
  return NaN;
}

process.on('message', (msg) => {
  if (msg.stop) {
    process.send({ result: { subscribers: count, events, lagged, closed, p50Ms: percentileMs(50), p99Ms: percentileMs(99), maxMs: percentileMs(100) } });
    setTimeout(() => process.exit(0), 50);
  }
});

for (let i = 0; i < count; i++) subscribe();
