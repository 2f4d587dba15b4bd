// Prometheus metrics of one Strata process (prom-client): one object that the materializer, the
// publish path and the HTTP layer all update, and that `GET /metrics` renders from its registry.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface StrataMetrics {
  readonly registry: Registry;
  /** Transactions appended to a log (by HTTP, SDK or embedded callers). */
  readonly txPublished: Counter;
  readonly txCommitted: Counter;
  /** Aborted transactions by abort reason code (`entity_exists`, `duplicate_tx`, ...). */
  readonly txAborted: Counter<'code'>;
  /** Time the materializer spends folding one batch of transactions, in seconds. */
  readonly foldDuration: Histogram;
  /** Log end offset minus materialized offset, per graph. */
  readonly lagOffsets: Gauge<'graph'>;
  /** Age of the oldest unmaterialized record, per graph, in seconds. */
  readonly lagSeconds: Gauge<'graph'>;
  /** HTTP latency by route pattern (never the raw URL, which would explode cardinality). */
  readonly httpDuration: Histogram<'route' | 'method' | 'status'>;
  readonly sseClients: Gauge;
  readonly rocksdbSizeBytes: Gauge<'graph'>;
  readonly rocksdbCompactionsRunning: Gauge<'graph'>;
  readonly rocksdbCompactionPendingBytes: Gauge<'graph'>;
  /** Approximate bytes and entries of the in-memory caches per graph (`cache` = fold | read), against their byte limits. */
  readonly cacheBytes: Gauge<'graph' | 'cache'>;
  readonly cacheEntries: Gauge<'graph' | 'cache'>;
  readonly cacheBytesMax: Gauge<'graph' | 'cache'>;
}

/**
 * Creates the metric set on `registry`, or on a fresh registry so that several instances (tests,
 * several apps in one process) never collide on prom-client's global default registry.
 */
export function createMetrics(registry: Registry = new Registry()): StrataMetrics {
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    txPublished: new Counter({ name: 'strata_tx_published_total', help: 'Transactions published to a log', registers }),
    txCommitted: new Counter({ name: 'strata_tx_committed_total', help: 'Transactions committed by the fold', registers }),
    txAborted: new Counter({
      name: 'strata_tx_aborted_total',
      help: 'Transactions aborted by the fold, by reason code',
      labelNames: ['code'],
      registers,
    }),
    foldDuration: new Histogram({
      name: 'strata_fold_duration_seconds',
      help: 'Duration of one materializer fold step',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    lagOffsets: new Gauge({
      name: 'strata_materializer_lag_offsets',
      help: 'Log end offset minus materialized offset',
      labelNames: ['graph'],
      registers,
    }),
    lagSeconds: new Gauge({
      name: 'strata_materializer_lag_seconds',
      help: 'Age of the oldest record not yet materialized',
      labelNames: ['graph'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'strata_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    sseClients: new Gauge({ name: 'strata_sse_clients', help: 'Open SSE subscriptions', registers }),
    rocksdbSizeBytes: new Gauge({
      name: 'strata_rocksdb_size_bytes',
      help: 'Estimated RocksDB size per graph',
      labelNames: ['graph'],
      registers,
    }),
    rocksdbCompactionsRunning: new Gauge({
      name: 'strata_rocksdb_compactions_running',
      help: 'RocksDB compactions running per graph',
      labelNames: ['graph'],
      registers,
    }),
    rocksdbCompactionPendingBytes: new Gauge({
      name: 'strata_rocksdb_compaction_pending_bytes',
      help: "RocksDB's estimate of the bytes compaction still has to rewrite, per graph",
      labelNames: ['graph'],
      registers,
    }),
    cacheBytes: new Gauge({
      name: 'strata_cache_bytes',
      help: 'Approximate bytes held by an in-memory cache (fold: the materializer, read: the reader) per graph',
      labelNames: ['graph', 'cache'],
      registers,
    }),
    cacheEntries: new Gauge({ name: 'strata_cache_entries', help: 'Entries of an in-memory cache per graph', labelNames: ['graph', 'cache'], registers }),
    cacheBytesMax: new Gauge({
      name: 'strata_cache_bytes_max',
      help: 'Byte limit of an in-memory cache per graph (entityCacheBytesMax, readCacheBytesMax)',
      labelNames: ['graph', 'cache'],
      registers,
    }),
  };
}

/** Minimal structural view of a folded report, so this module does not depend on the materializer. */
interface FoldedReport {
  status: 'committed' | 'aborted';
  error?: { code: string };
}

/**
 * Materializer hooks (openStrata's `hooks` option) that feed the fold metrics: committed/aborted
 * counters and the fold duration histogram.
 */
export function materializerHooks(metrics: StrataMetrics): { onFolded(report: FoldedReport, foldSeconds: number): void } {
  return {
    onFolded(report, foldSeconds) {
      if (report.status === 'committed') metrics.txCommitted.inc();
      else metrics.txAborted.inc({ code: report.error?.code ?? 'unknown' });
      metrics.foldDuration.observe(foldSeconds);
    },
  };
}
