// Timing helpers: latency samples with percentiles, closed-loop runs at a fixed concurrency, and
// repetition so that one noisy moment on a shared machine does not decide a figure.

export function percentile(sortedMs, p) {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i];
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[(s.length - 1) >> 1];
}

/**
 * Closed loop: `concurrency` callers each await `fn(i)` for i over [0, count) (taken in turn). Returns
 * throughput and latency percentiles (ms).
 */
export async function closedLoop(count, concurrency, fn) {
  const latencies = new Float64Array(count);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await fn(i);
        latencies[i] = performance.now() - t;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return { count, concurrency, perSecond: count / seconds, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), seconds };
}

/** Synchronous variant for in-process peers (SQLite, DataScript, replay). */
export function syncLoop(count, fn) {
  const latencies = new Float64Array(count);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    fn(i);
    latencies[i] = performance.now() - t;
  }
  const seconds = (performance.now() - started) / 1000;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return { count, concurrency: 1, perSecond: count / seconds, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), seconds };
}

/** Runs `measure` `times` times and keeps the run with the median throughput. */
export async function repeat(times, measure) {
  const runs = [];
  for (let i = 0; i < times; i++) runs.push(await measure(i));
  runs.sort((a, b) => a.perSecond - b.perSecond);
  return { ...runs[(runs.length - 1) >> 1], runs: runs.length };
}

export function rssMb() {
  return process.memoryUsage().rss / (1024 * 1024);
}
