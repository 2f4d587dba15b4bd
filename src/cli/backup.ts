// `strata backup` and `strata restore` (docs/operations.md). A running server holds RocksDB's lock on
// every graph's state, so it is backed up online through `POST /v1/graphs/:graph/backup`; the command
// backs up a stopped data directory with the same code (one snapshot per graph, the offset inside).
// `strata restore` puts a backup's state in place after checking it: the manifest, the stored offset,
// the checksum recorded at backup time, and a log that reaches the backup's offset (a state ahead of its
// log would be refused at start, and rightly: new appends would reuse offsets the state has folded).

import { cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { BrokerAdapter } from '../broker-adapters/types.js';
import { StrataError } from '../core/errors.js';
import { GRAPH_NAME_PATTERN } from '../core/limits.js';
import { backupGraphs, readManifest, type BackupManifest, type BackupSource, type GraphBackup } from '../db/backup.js';
import { stateDir } from '../db/graph.js';
import { loadMeta, loadSchemaHistory, schemaFromHistory } from '../materializer/materializer.js';
import { sliceChecksum } from '../query/checksum.js';
import { Store } from '../store/rocks.js';
import { ConfigError, type StrataConfig } from './config.js';
import { withCommandLog } from './log.js';
import { pathExists as exists, syncPath as syncDir } from '../core/fs.js';

/** The subset of pino these commands log through. */
export interface OpsLogger {
  info(obj: object, msg: string): void;
}

/** Opens a graph's state, or explains that a running server holds it. */
async function openState(path: string, graph: string): Promise<Store> {
  try {
    return await Store.open(path);
  } catch (err) {
    throw new ConfigError(
      `the state of graph ${graph} (${path}) is in use (${(err as Error).message}): back up a running server with POST /v1/graphs/${graph}/backup, or stop it first`,
    );
  }
}

/** The graphs with a state directory under `<dataDir>/state` (or just `only`). */
async function stateGraphs(dataDir: string, only: string | null): Promise<string[]> {
  if (only !== null) {
    if (!GRAPH_NAME_PATTERN.test(only)) throw new ConfigError(`invalid graph name ${JSON.stringify(only)}`);
    if (!(await exists(stateDir(dataDir, only)))) throw new ConfigError(`graph ${only} has no state in ${dataDir}`);
    return [only];
  }
  const entries = await readdir(join(dataDir, 'state'), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && GRAPH_NAME_PATTERN.test(e.name)).map((e) => e.name).sort();
}

export interface BackupDirOptions {
  dataDir: string;
  out: string;
  /** Only this graph (default: every graph with state). */
  graph?: string | null;
  logger?: OpsLogger;
  checksum?: boolean;
}

/** Backs up the state of a stopped data directory into `out` (refused when `out` is not empty). */
export async function backupDataDir(options: BackupDirOptions): Promise<BackupManifest> {
  const graphs = await stateGraphs(options.dataDir, options.graph ?? null);
  if (graphs.length === 0) throw new ConfigError(`nothing to back up: ${join(options.dataDir, 'state')} holds no graph state`);
  const sources: BackupSource[] = [];
  try {
    for (const graph of graphs) sources.push({ graph, store: await openState(stateDir(options.dataDir, graph), graph) });
    return await backupGraphs(sources, resolve(options.out), { logger: options.logger, checksum: options.checksum });
  } finally {
    for (const { store } of sources) await store.close();
  }
}

export interface RestoreOptions {
  dataDir: string;
  /** A complete backup directory (with backup.json). */
  from: string;
  /** An open log adapter (the caller closes it): restore checks it reaches each backup's offset. */
  log: BrokerAdapter;
  /** Only this graph of the backup (default: all of them). */
  graph?: string | null;
  logger?: OpsLogger;
}

export interface RestoreResult {
  graph: string;
  offset: number;
  logEndOffset: number;
  ms: number;
}

/** Opens the copied state and checks it against the manifest: offset, and checksum when recorded. */
async function verifyCopy(path: string, backup: GraphBackup): Promise<void> {
  const store = await Store.open(path);
  try {
    const meta = await loadMeta(store);
    if (meta.offset !== backup.offset) throw new ConfigError(`graph ${backup.graph}: the copied state holds offset ${meta.offset}, the manifest says ${backup.offset}`);
    if (backup.checksum !== null) {
      const got = await sliceChecksum(store, schemaFromHistory(await loadSchemaHistory(store), meta.offset), meta.offset);
      if (got.checksum !== backup.checksum.checksum) throw new ConfigError(`graph ${backup.graph}: the copied state's checksum at offset ${meta.offset} is ${got.checksum}, the backup recorded ${backup.checksum.checksum}: the backup is damaged`);
    }
  } finally {
    await store.close();
  }
}

/**
 * Puts each graph's backed-up state in place of `<dataDir>/state/<graph>`: copied to a work directory,
 * verified, then swapped in with renames (the old state moved aside and deleted after the directory sync).
 */
export async function restoreDataDir(options: RestoreOptions): Promise<RestoreResult[]> {
  const from = resolve(options.from);
  let manifest: BackupManifest;
  try {
    manifest = await readManifest(from);
  } catch (err) {
    throw new ConfigError(`${from} is not a complete backup (no readable backup.json): ${(err as Error).message}`);
  }
  const only = options.graph ?? null;
  const chosen = manifest.graphs.filter((g) => only === null || g.graph === only);
  if (chosen.length === 0) throw new ConfigError(`the backup ${from} holds no graph ${JSON.stringify(only)}`);
  // Every check before anything moves: a restore either puts every chosen graph in place or none.
  for (const g of chosen) {
    const end = (await options.log.hasGraph(g.graph)) ? (await options.log.endOffset(g.graph)) - 1 : -1;
    if (end < g.offset) {
      throw new ConfigError(
        `graph ${g.graph}: the backup's state is materialized up to offset ${g.offset} but the log ends at ${end}; restore a log that reaches offset ${g.offset} first (a copy of log/ taken after the state backup)`,
      );
    }
    const live = stateDir(options.dataDir, g.graph);
    if (await exists(live)) await (await openState(live, g.graph)).close();
  }
  const results: RestoreResult[] = [];
  for (const g of chosen) {
    const started = Date.now();
    const live = stateDir(options.dataDir, g.graph);
    const work = join(options.dataDir, 'rebuild', 'restore', g.graph);
    const aside = join(options.dataDir, 'rebuild', 'old', g.graph);
    await rm(work, { recursive: true, force: true });
    await rm(aside, { recursive: true, force: true });
    await mkdir(dirname(work), { recursive: true });
    await mkdir(dirname(aside), { recursive: true });
    options.logger?.info({ graph: g.graph, from, offset: g.offset }, 'restore started');
    await cp(join(from, g.path), work, { recursive: true });
    await verifyCopy(work, g);
    await mkdir(dirname(live), { recursive: true });
    if (await exists(live)) await rename(live, aside);
    await rename(work, live);
    await syncDir(dirname(live));
    await rm(aside, { recursive: true, force: true });
    const result = { graph: g.graph, offset: g.offset, logEndOffset: (await options.log.endOffset(g.graph)) - 1, ms: Date.now() - started };
    options.logger?.info(result, 'restore finished: start strata; each graph resumes folding at offset + 1');
    results.push(result);
  }
  return results;
}

/** `strata backup --out DIR [--graph G]`: a stopped data directory. */
export async function backupCommand(config: StrataConfig, logger: Logger): Promise<void> {
  const out = config.operations.backupOut;
  if (out === null) throw new ConfigError('strata backup needs --out DIR (or STRATA_BACKUP_OUT): an absent or empty directory');
  try {
    await backupDataDir({ dataDir: config.dataDir, out, graph: config.hardening.rebuildGraph, logger });
  } catch (err) {
    if (err instanceof StrataError) throw new ConfigError(`cannot back up: ${err.message}`);
    throw err;
  }
}

/** `strata restore --from DIR [--graph G]`: the server stopped (the embedded log's lock says so). */
export async function restoreCommand(config: StrataConfig, logger: Logger): Promise<void> {
  const from = config.operations.restoreFrom;
  if (from === null) throw new ConfigError('strata restore needs --from DIR (or STRATA_RESTORE_FROM): a backup directory with backup.json');
  await withCommandLog(config, logger, 'restore', (log) => restoreDataDir({ dataDir: config.dataDir, from, log, graph: config.hardening.rebuildGraph, logger }));
}
