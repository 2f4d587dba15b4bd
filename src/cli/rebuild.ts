// `strata rebuild`: recomputes a graph's RocksDB state from its log. The fold runs from offset 0 into a
// fresh store beside the live one; only when it has caught up with the log is the old state moved aside
// and the new one renamed into its place, so an interrupted rebuild leaves the old state untouched.

import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { BrokerAdapter } from '../broker-adapters/types.js';
import { DEFAULT_LIMITS, GRAPH_NAME_PATTERN, type Limits } from '../core/limits.js';
import { stateDir } from '../db/graph.js';
import { Materializer } from '../materializer/materializer.js';
import { Store } from '../store/rocks.js';
import { checkViewOps } from '../views/definition.js';
import type { StrataConfig } from './config.js';
import { withCommandLog } from './log.js';
import { loadLimits } from './hardening.js';
import { pathExists as exists, syncPath as syncDir } from '../core/fs.js';

/** The subset of pino the rebuild logs through. */
export interface RebuildLogger {
  info(obj: object, msg: string): void;
}

export interface RebuildOptions {
  dataDir: string;
  /** An open log adapter; the caller closes it. */
  log: BrokerAdapter;
  /** Graphs to rebuild; default: every graph on the log. */
  graphs?: string[];
  /** Must equal the limits of `strata start`: the fold re-checks some of them (docs/limits.md). */
  limits?: Limits;
  logger: RebuildLogger;
  /** Log a progress line every this many records (default 10,000). */
  progressEvery?: number;
}

export interface RebuildResult {
  graph: string;
  records: number;
  /** Last materialized offset (-1 for an empty log). */
  offset: number;
  ms: number;
}

/** Records per log read: one RocksDB write batch each. */
const READ_RECORDS = 1_000;
export const PROGRESS_EVERY_DEFAULT = 10_000;

/** Opening the live store takes RocksDB's own lock: a running server holding it makes this throw. */
async function assertStateNotInUse(path: string): Promise<void> {
  if (!(await exists(path))) return;
  try {
    const store = await Store.open(path);
    await store.close();
  } catch (err) {
    throw new Error(`the state ${path} is in use (is a strata server running?): ${(err as Error).message}`);
  }
}

/** Folds the whole log of `graph` into a fresh store at `path`; returns the record count and last offset. */
async function foldInto(path: string, graph: string, options: RebuildOptions): Promise<{ records: number; offset: number }> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const every = options.progressEvery ?? PROGRESS_EVERY_DEFAULT;
  const end = await options.log.endOffset(graph);
  const store = await Store.open(path);
  // The same static view checks as the live fold, or a rebuild could commit what the live path rejected.
  // View rows are not rebuilt here: the view maintainer recomputes them from offset 0 when the graph opens.
  const materializer = new Materializer(graph, options.log, store, limits, { checkTx: (tx) => checkViewOps(tx, limits) });
  let records = 0;
  let nextReport = every;
  const started = Date.now();
  try {
    for (let from = 0; from < end; ) {
      // Reads no more than one progress interval, so a progress line comes every `every` records.
      const batch = await options.log.read(graph, from, Math.min(READ_RECORDS, every, end - from));
      if (batch.length === 0) break; // the log ends early (retention or a gap at its end)
      await materializer.processBatch(batch);
      records += batch.length;
      from = batch[batch.length - 1]!.offset + 1;
      if (records >= nextReport) {
        nextReport += every;
        const perSecond = Math.round((records * 1000) / Math.max(1, Date.now() - started));
        options.logger.info({ graph, offset: from - 1, endOffset: end - 1, records, perSecond }, 'rebuild progress');
      }
    }
    await materializer.flush();
    return { records, offset: materializer.durable.offset };
  } finally {
    await store.close();
  }
}

/** Rebuilds one graph: fold into `<dataDir>/rebuild/work/<graph>`, then swap it with `<dataDir>/state/<graph>`. */
export async function rebuildGraph(graph: string, options: RebuildOptions): Promise<RebuildResult> {
  if (!GRAPH_NAME_PATTERN.test(graph)) throw new Error(`invalid graph name ${JSON.stringify(graph)}`);
  if (!(await options.log.hasGraph(graph))) throw new Error(`no log for graph ${JSON.stringify(graph)}`);
  const started = Date.now();
  const live = stateDir(options.dataDir, graph);
  // Outside `state/`, so a work directory can never be mistaken for a graph's state.
  const work = join(options.dataDir, 'rebuild', 'work', graph);
  const aside = join(options.dataDir, 'rebuild', 'old', graph);
  await assertStateNotInUse(live);
  await rm(work, { recursive: true, force: true });
  await rm(aside, { recursive: true, force: true });
  await mkdir(dirname(work), { recursive: true });
  await mkdir(dirname(aside), { recursive: true });
  options.logger.info({ graph, endOffset: (await options.log.endOffset(graph)) - 1 }, 'rebuild started');
  const { records, offset } = await foldInto(work, graph, options);
  await mkdir(dirname(live), { recursive: true });
  // Two renames: a crash between them leaves no state, which `strata start` refolds from offset 0.
  if (await exists(live)) await rename(live, aside);
  await rename(work, live);
  await syncDir(dirname(live));
  await rm(aside, { recursive: true, force: true });
  const result = { graph, records, offset, ms: Date.now() - started };
  options.logger.info(result, 'rebuild finished');
  return result;
}

/** Rebuilds the chosen graphs (default: all on the log), one after the other. */
export async function rebuild(options: RebuildOptions): Promise<RebuildResult[]> {
  const graphs = options.graphs ?? (await options.log.listGraphs());
  const results: RebuildResult[] = [];
  for (const graph of graphs) results.push(await rebuildGraph(graph, options));
  return results;
}

/** `strata rebuild`: opens the configured log (taking its lock, so a running server makes this fail). */
export async function rebuildCommand(config: StrataConfig, logger: Logger): Promise<void> {
  const limits = loadLimits(config.hardening.limitsFile, process.env);
  const graph = config.hardening.rebuildGraph;
  const results = await withCommandLog(config, logger, 'rebuild', (log) =>
    rebuild({ dataDir: config.dataDir, log, limits, logger, progressEvery: config.hardening.progressEvery, ...(graph === null ? {} : { graphs: [graph] }) }));
  if (results.length === 0) logger.info({ dataDir: config.dataDir }, 'nothing to rebuild: the log holds no graph');
}
