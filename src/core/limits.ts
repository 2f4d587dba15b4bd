// Every limit in one place (TigerBeetle style). Each is enforced at the edge (schema validation)
// and asserted again inside; the comment says what the limit protects.

export interface Limits {
  /** Ops per transaction: bounds fold time and the size of one tx report. */
  opsPerTxMax: number;
  /** Bytes of one transaction body: bounds log record size and request buffering. */
  txBodyBytesMax: number;
  /** Bytes of one value (string, bytes, json text): keeps entity versions and index keys small. */
  valueBytesMax: number;
  /** Characters of an entity id (and of attr/type names). */
  idCharsMax: number;
  /** Characters of an idempotency key. */
  txIdCharsMax: number;
  /** Transactions per batch publish. */
  batchTxMax: number;
  /** Bytes of one batch publish body. */
  batchBodyBytesMax: number;
  /** Page size of listings and log reads. */
  pageSizeMax: number;
  /** Default page size when `limit` is absent. */
  pageSizeDefault: number;
  /** Query evaluation time (ms), checked cooperatively; a body's `timeoutMs` may only lower it. */
  queryTimeMsMax: number;
  /** Rows in one query result: a bigger answer needs `limit` (413 result_too_large otherwise). */
  queryRowsMax: number;
  /** Intermediate solutions a query may hold at once: bounds the memory of a join before it finishes. */
  queryBindingsMax: number;
  /** Clauses in one query, nested ones included: bounds planning work. */
  queryClausesMax: number;
  /** Nesting depth of `not` / `or`: the planner and evaluator recurse on it. */
  queryNestingMax: number;
  /** Largest `maxDepth` of a reachability clause (and its default): bounds BFS levels. */
  queryReachDepthMax: number;
  /** Concurrent SSE clients per process: each holds a socket and a buffer. */
  sseClientsMax: number;
  /** Events buffered per SSE client before it is closed with `event: lagged`. */
  sseBufferEventsMax: number;
  /** Heartbeat comment interval on SSE streams (ms). */
  sseHeartbeatMs: number;
  /** Longest wait a `minBasis` read or `at=` beyond the materialized offset may take (ms). */
  basisWaitMsMax: number;
  /** Default wait for a `wait=true` publish before answering 202 pending (ms). */
  publishWaitMsDefault: number;
  /** Number of meta entries and their sizes: meta is stored with every tx. */
  metaEntriesMax: number;
  metaValueCharsMax: number;
  /** Changes in one diff response: a bigger span must be paged by narrowing the offsets. */
  diffChangesMax: number;
  /** Entries in one history response. */
  historyChangesMax: number;
  /** Graphs per process: each holds a log and a RocksDB instance. */
  graphsMax: number;
  /** Entity states kept hot in memory per graph (the fold's cache). */
  entityCacheEntriesMax: number;
  /** Approximate bytes of those entity states per graph: large values must not multiply the entry bound. */
  entityCacheBytesMax: number;
  /** Approximate bytes of the read cache per graph (latest versions, version offsets, edge lifetimes). */
  readCacheBytesMax: number;
  /** Bytes of a view's query text: definitions are schema, loaded whole at open and kept in memory. */
  viewQueryBytesMax: number;
  /** Views per graph: every committed tx is maintained against every view, so each one adds fold-time work. */
  viewsPerGraphMax: number;
  /** Requests per window per token (per address before authentication); only with tokens configured. */
  rateLimitRequestsMax: number;
  /** The rate limit's window (ms). */
  rateLimitWindowMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  opsPerTxMax: 10_000,
  txBodyBytesMax: 1024 * 1024,
  valueBytesMax: 64 * 1024,
  idCharsMax: 256,
  txIdCharsMax: 128,
  batchTxMax: 1_000,
  batchBodyBytesMax: 1024 * 1024,
  pageSizeMax: 1_000,
  pageSizeDefault: 100,
  queryTimeMsMax: 5_000,
  queryRowsMax: 10_000,
  queryBindingsMax: 1_000_000,
  queryClausesMax: 256,
  queryNestingMax: 8,
  queryReachDepthMax: 1_000,
  sseClientsMax: 10_000,
  sseBufferEventsMax: 1_000,
  sseHeartbeatMs: 15_000,
  basisWaitMsMax: 5_000,
  publishWaitMsDefault: 10_000,
  metaEntriesMax: 32,
  metaValueCharsMax: 1_024,
  diffChangesMax: 100_000,
  historyChangesMax: 100_000,
  graphsMax: 1_000,
  entityCacheEntriesMax: 100_000,
  entityCacheBytesMax: 32 * 1024 * 1024,
  readCacheBytesMax: 96 * 1024 * 1024,
  viewQueryBytesMax: 64 * 1024,
  viewsPerGraphMax: 64,
  rateLimitRequestsMax: 120_000,
  rateLimitWindowMs: 60_000,
});

export const GRAPH_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** View names follow the graph name rule: they name Kafka topics (`<prefix>.<graph>.view.<name>`). */
export const VIEW_NAME_PATTERN = GRAPH_NAME_PATTERN;
