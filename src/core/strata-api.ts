// The embedded library surface (`openStrata`): everything the HTTP API does, without a network hop.
// The API layer is built only on this interface; it never sees key encodings or the log format.

import type { Change, TxError, TxInput, TxReport } from './types.js';

export interface GraphInfo {
  name: string;
  /** Offset of the latest record on the log, -1 when the log is empty. */
  latestOffset: number;
  /** Latest offset folded into RocksDB, -1 when nothing is materialized yet. */
  materializedOffset: number;
  /** Tx time of the materialized offset (ISO-8601), null when nothing is materialized. */
  materializedTime: string | null;
  counts: { transactions: number; committed: number; aborted: number; liveEntities: number };
  /** RocksDB's estimate of the graph's state size on disk. */
  storageBytes: number;
  schema: { attrs: Record<string, unknown>; types: Record<string, unknown> };
}

export interface PublishOptions {
  /** Wait for the outcome (true) or return once durable on the log (false). */
  wait: boolean;
  /** How long a waiting publish waits for the outcome before answering `pending`. */
  timeoutMs: number;
  /**
   * For the txs a call builds itself (defineView, retireView): recorded as their `meta.author`, the
   * audit trail of who changed the schema. `transact` takes the tx's own meta.
   */
  author?: string;
}

export type PublishResult =
  | { offset: number; status: 'committed'; timeMs: number; duplicate?: boolean }
  | { offset: number; status: 'aborted'; timeMs: number; error: TxError; duplicate?: boolean }
  | { offset: number; status: 'pending' };

export interface ReadOptions {
  at?: number;
  /** ISO-8601 tx time: the latest tx whose time is at or before it. */
  asOf?: string;
  /** Wait (bounded) until this offset is materialized. */
  minBasis?: number;
}

/** Attribute values are in their JSON output form (codec/json.ts valueToJson). */
export interface NodeView {
  id: string;
  kind: 'node';
  type: string;
  createdAt: number;
  attrs: Record<string, unknown>;
  out: { id: string; type: string; to: string }[];
  in: { id: string; type: string; from: string }[];
}
export interface EdgeView {
  id: string;
  kind: 'edge';
  type: string;
  createdAt: number;
  from: string;
  to: string;
  attrs: Record<string, unknown>;
}
export type EntityView = NodeView | EdgeView;

export interface ListQuery {
  type?: string;
  /** ANDed attribute equality filters; the value is the JSON-parsed query value. */
  where: { attr: string; value: unknown }[];
  limit: number;
  /** Exclusive lower bound on entity id (pagination). */
  afterId?: string;
}

export interface HistoryEntry {
  offset: number;
  timeMs: number;
  change: Change;
}

export interface DiffFilter {
  type?: string;
  id?: string;
}

/** One step of a query plan, as `explain` shows it: the clause's JSON pointer and how it reads. */
export interface QueryPlanStep {
  clause: string;
  access: string;
  binds: string[];
  branches?: QueryPlanStep[][];
}

/** The answer of a query (docs/query.md): one row per distinct solution (or group), values in JSON form. */
export interface QueryResult {
  basis: number;
  columns: string[];
  rows: unknown[][];
  /** Present when the query was evaluated over speculative `with` ops (nothing was logged). */
  speculative?: true;
  /** The evaluation order and access paths, when the query asked for `explain`. */
  plan?: QueryPlanStep[];
}

/** Size of one in-memory cache of a graph (docs/limits.md): `fold` = the materializer's, `read` = the reader's. */
export interface CompactionStats {
  graph: string;
  running: number;
  pendingBytes: number;
}

export interface CacheStats {
  graph: string;
  cache: 'fold' | 'read';
  entries: number;
  /** Approximate bytes held (store/sizes.ts), bounded by `bytesMax`. */
  bytes: number;
  bytesMax: number;
}

/** An online backup of one graph's state (docs/operations.md, "Backup"): where it went and what it holds. */
export interface BackupInfo {
  /** Absolute path of the backup directory on the server host. */
  dir: string;
  graph: string;
  /** The materialized offset of the copy: a replica restored from it resumes folding at offset + 1. */
  offset: number;
  materializedTime: string | null;
  transactions: number;
  /** The views' maintained offset in the copy (-1: none yet). */
  viewsOffset: number;
  keyLayoutVersion: number;
  keys: number;
  bytes: number;
  diskBytes: number;
  /** The copy's slice checksum at `offset`, null when not asked for. */
  checksum: SliceChecksum | null;
  ms: number;
}

/** A slice's checksum (docs/api.md, "Checksum"): equal on every replica that materialized the same log. */
export interface SliceChecksum {
  basis: number;
  /** Names the hashed line format, e.g. `sha256-slice-v1`. */
  algorithm: string;
  /** Lowercase hex SHA-256. */
  checksum: string;
  /** Live entities hashed. */
  entities: number;
}

/** A materialized view (DESIGN §6) as of a basis. */
export interface ViewInfo {
  name: string;
  /** The query, as registered (canonical JSON: object keys sorted). */
  query: unknown;
  columns: string[];
  /** Offset of the definition in force at the basis (a redefinition starts a new one). */
  definedAt: number;
  /** Every view of the graph is maintained up to this offset (it may lag the materialized offset briefly). */
  maintainedOffset: number;
  /** How each tx is maintained: `incremental` (cost follows the tx) or `full` (recomputed per tx, see `reason`). */
  maintenance: { mode: 'incremental' | 'full'; reason?: string };
}

/** A page of a view's rows as of `basis`, in row-key order; `next` continues the listing (null at the end). */
export interface ViewRowsPage {
  basis: number;
  columns: string[];
  rows: unknown[][];
  next: string | null;
}

/** One view's change at one offset: the rows it gained and lost (a changed aggregate row is both). */
export interface ViewDeltaEvent {
  offset: number;
  added: unknown[][];
  removed: unknown[][];
}

/** Thrown by a subscription whose consumer fell behind its buffer; resume from `resumeFrom`. */
export class LaggedError extends Error {
  constructor(readonly resumeFrom: number) {
    super(`subscriber lagged; resume from offset ${resumeFrom}`);
    this.name = 'LaggedError';
  }
}

export interface SubscribeOptions {
  signal: AbortSignal;
  /** Live reports buffered for a consumer that is not pulling; beyond it the subscription lags. */
  bufferMax: number;
  /**
   * Called once, synchronously, when the live buffer overflows — so a consumer blocked elsewhere
   * (e.g. on a congested socket) can give up at once instead of on its next pull.
   */
  onOverflow?: () => void;
  /**
   * Live fast path: called synchronously with a live report while the consumer is idle (waiting for
   * the next one). Returning true means the consumer took the report itself and it is not yielded;
   * false falls back to the buffered path. Saves a queue and several promise hops per event.
   */
  deliver?: (report: TxReport) => boolean;
  /**
   * The consumer only needs reports with a change naming one of these entities: live reports that
   * name none of them may be skipped (never delivered, never buffered). Catch-up still yields every
   * report; the consumer's own filter decides.
   */
  ids?: ReadonlySet<string> | null;
}

export interface StrataDb {
  listGraphs(): Promise<GraphInfo[]>;
  /** Throws StrataError graph_not_found. */
  graphInfo(graph: string): Promise<GraphInfo>;
  /** Creates the graph if missing; throws invalid_graph_name / too_many_graphs. */
  createGraph(graph: string): Promise<GraphInfo>;
  /** Publishes one tx (creating the graph on first use). Static validation is the caller's job (codec). */
  transact(graph: string, tx: TxInput, options: PublishOptions): Promise<PublishResult>;
  /** Publishes several txs in one log append; results in order. */
  transactBatch(graph: string, txs: TxInput[], options: PublishOptions): Promise<PublishResult[]>;
  /**
   * Resolves the basis of a read: default latest materialized offset; `at` beyond the log → offset_out_of_range;
   * `at`/`minBasis` not yet materialized → waits up to the limit, then basis_not_reached. -1 for an empty graph.
   */
  resolveBasis(graph: string, options: ReadOptions): Promise<number>;
  entity(graph: string, id: string, basis: number): Promise<EntityView | null>;
  /**
   * In-process fast path: the attributes of an entity at the latest materialized offset, synchronously,
   * when the hot read cache holds its latest version (null = absent there); undefined when it does not,
   * and then `entity()` answers. No worker hop, no promise: the embedded read of the latest slice.
   * The object is frozen and shared between callers until the entity or the schema changes.
   */
  latestAttrs(graph: string, id: string): Readonly<Record<string, unknown>> | null | undefined;
  listEntities(graph: string, query: ListQuery, basis: number): Promise<{ items: EntityView[]; nextAfterId: string | null }>;
  /** Null when the id was never created (at any offset ≤ basis). */
  history(graph: string, id: string, basis: number): Promise<HistoryEntry[] | null>;
  /** Net changes turning slice `from` into slice `to` (inverse when from > to). */
  diff(graph: string, from: number, to: number, filter: DiffFilter): Promise<Change[]>;
  /** Tx reports with offset ≥ from, up to limit; `next` is the next offset to ask for, or null at the end. */
  txLog(graph: string, from: number, limit: number, basis: number): Promise<{ items: TxReport[]; next: number | null }>;
  tx(graph: string, offset: number): Promise<TxReport | null>;
  /**
   * Evaluates a query in its JSON form (docs/query.md) as of the basis its body (`at`/`asOf`) or
   * `options` choose — not both. Throws StrataError invalid_query (details.pointer), query_timeout,
   * result_too_large, tx_aborted (speculative `with` ops that abort), and the basis errors of resolveBasis.
   */
  query(graph: string, query: unknown, options: ReadOptions): Promise<QueryResult>;
  /**
   * Reports with offset ≥ from, catch-up then live, no gap, no duplicate, until `signal` aborts.
   * `from` undefined = only txs materialized after the call. Throws LaggedError when the consumer falls
   * more than `bufferMax` live reports behind.
   */
  subscribe(graph: string, from: number | undefined, options: SubscribeOptions): AsyncIterable<TxReport>;
  /**
   * Registers (or redefines) a view: checks the query statically (invalid_query with its pointer under
   * `/query`), then publishes a tx with one defineView op. Throws too_many_views past the per-graph limit.
   */
  defineView(graph: string, name: string, query: unknown, options: PublishOptions): Promise<PublishResult>;
  /** Publishes a retireView op; throws view_not_found when the view is not defined at the latest offset. */
  retireView(graph: string, name: string, options: PublishOptions): Promise<PublishResult>;
  /** The views defined as of a resolved basis, by name. */
  views(graph: string, basis: number): Promise<ViewInfo[]>;
  /** One view as of a resolved basis; throws view_not_found when it is not defined there. */
  view(graph: string, name: string, basis: number): Promise<ViewInfo>;
  /**
   * A page of a view's rows as of the basis `options` name (default: the latest materialized offset),
   * waiting like minBasis while the view lags; `after` is a previous page's `next`. Throws view_not_found
   * when the view is not defined at the basis, and the basis errors of resolveBasis.
   */
  viewRows(graph: string, name: string, options: ReadOptions, page: { limit: number; after?: string }): Promise<ViewRowsPage>;
  /**
   * The view's deltas with offset ≥ from (undefined: only new ones), catch-up then live, no gap, no
   * duplicate, until `signal` aborts; LaggedError like subscribe. Throws view_not_found for a view never defined.
   */
  subscribeView(graph: string, name: string, from: number | undefined, options: SubscribeOptions): AsyncIterable<ViewDeltaEvent>;
  /** Checksum of the slice as of `basis` (a resolved basis, see resolveBasis): schema + every live entity. */
  checksum(graph: string, basis: number): Promise<SliceChecksum>;
  /**
   * Copies the graph's state as of one RocksDB snapshot into `<backupDir>/<name>` (state/<graph> and
   * backup.json) while the graph keeps folding. `name` defaults to `<graph>-<UTC time>`; `checksum`
   * (default true) adds the copy's checksum at its offset. Throws backup_target_exists (the directory is
   * not empty), backup_in_progress (one backup at a time per process), backup_failed (I/O).
   */
  backup(graph: string, options?: { name?: string; checksum?: boolean }): Promise<BackupInfo>;
  /** Entries and approximate bytes of every open graph's caches (metrics). */
  cacheStats(): CacheStats[];
  /** RocksDB compactions running and bytes pending per open graph (metrics; benchmarks wait for them). */
  compactionStats(): Promise<CompactionStats[]>;
  /** Readiness: every known graph's materializer has caught up with the log as of open. */
  isReady(): boolean;
  close(): Promise<void>;
}
