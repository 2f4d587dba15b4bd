// Runs workload txs in order on several concurrent workers without reordering dependent txs. A tx
// writes the ids it creates, sets or terminates, and reads the ends of the edges it links; it starts
// only when no earlier tx still running writes what it touches or reads what it writes (terminating a
// node ends the edges linked to it, and those links read the node). Both Strata and PostgreSQL publish
// through this, so both see the same concurrency.

function access(body) {
  const writes = [];
  const reads = [];
  for (const op of body.ops) {
    if (op.id !== undefined) writes.push(op.id);
    if (op.from !== undefined) reads.push(op.from, op.to);
  }
  return { writes, reads };
}

/** Calls `apply(worker, index)` for each index in [from, to) with at most `workers.length` in flight. */
export async function runOrdered(txs, from, to, workers, apply) {
  const writing = new Map(); // id → the running tx that writes it
  const reading = new Map(); // id → running txs that read it
  const idle = [...workers];
  const running = new Set();
  let failure = null;
  for (let i = from; i < to && failure === null; i++) {
    const { writes, reads } = access(txs[i]);
    // Head-of-line wait: a dependent tx waits for the earlier ones, and later txs wait behind it.
    for (;;) {
      const blockers = [];
      for (const id of writes) {
        if (writing.has(id)) blockers.push(writing.get(id));
        for (const r of reading.get(id) ?? []) blockers.push(r);
      }
      for (const id of reads) if (writing.has(id)) blockers.push(writing.get(id));
      if (blockers.length === 0 && idle.length > 0) break;
      await Promise.race(blockers.length > 0 ? blockers : running);
    }
    const worker = idle.pop();
    const done = apply(worker, i)
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => {
        for (const id of writes) if (writing.get(id) === done) writing.delete(id);
        for (const id of reads) {
          const set = reading.get(id);
          set?.delete(done);
          if (set?.size === 0) reading.delete(id);
        }
        running.delete(done);
        idle.push(worker);
      });
    for (const id of writes) writing.set(id, done);
    for (const id of reads) reading.set(id, (reading.get(id) ?? new Set()).add(done));
    running.add(done);
  }
  await Promise.all(running);
  if (failure) throw failure;
}
