// SSE fan-out: N subscribers (a child process) on a graph while this process publishes txs over HTTP
// at a fixed rate (wait=false); publish→delivery latency percentiles come back from the child.

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { pool } from './http.js';

const CHILD = fileURLToPath(new URL('./sse-subscribers.js', import.meta.url));

export async function sseLatency(origin, graph, txs, { subscribers, txPerSecond, seconds }) {
  const child = fork(CHILD, [origin, graph, String(subscribers)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    await once(child, 'message'); // ready: every subscriber is connected
    const p = pool(origin, 8);
    const total = Math.min(txs.length, Math.round(txPerSecond * seconds));
    const started = performance.now();
    let sent = 0;
    const inFlight = new Set();
    const deadline = started + seconds * 1000;
    // Publishing stops at the deadline even when the server falls behind: the run stays bounded.
    while (sent < total && performance.now() < deadline) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * txPerSecond) + 1);
      for (; sent < due; sent++) {
        const tx = { ...txs[sent], meta: { t: (performance.timeOrigin + performance.now()).toFixed(3) } };
        const r = p
          .request({ path: `/v1/graphs/${graph}/transactions?wait=false`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(tx) })
          .then((res) => res.body.dump())
          .catch(() => undefined); // a publish cut off at the end of the run is simply not delivered
        inFlight.add(r);
        r.finally(() => inFlight.delete(r));
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.race([Promise.all(inFlight), new Promise((r) => setTimeout(r, 5000))]);
    const publishSeconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 2000)); // let the last events arrive; later ones count as lost
    child.send({ stop: true });
    const [msg] = await once(child, 'message');
    await p.destroy().catch(() => undefined);
    return { ...msg.result, published: sent, achievedTxPerSecond: sent / publishSeconds, expectedEvents: sent * subscribers };
  } finally {
    child.kill('SIGKILL');
  }
}
