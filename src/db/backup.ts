// Online backup of a graph's RocksDB state (docs/operations.md, "Backup"). rocksdb-native 3.18.1 has no
// checkpoint or backup engine, but it has snapshots: every key of the state is read through one snapshot
// in bounded pages and written into a fresh RocksDB. The materialized offset (`m state`) is one of those
// keys and is written in the same batch as the state it describes, so the copy is exactly the state at
// that offset and says so itself; a replica started on it resumes folding at offset + 1. The live store
// is only read (on RocksDB's threads, a page at a time), so the materializer keeps folding meanwhile.
//
// A backup directory mirrors a data directory: `state/<graph>/` (a RocksDB) per graph, and a manifest
// `backup.json` written last (its presence means the backup is complete).

import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../core/errors.js';
import { syncPath } from '../core/fs.js';
import { GRAPH_NAME_PATTERN } from '../core/limits.js';
import type { BackupInfo, SliceChecksum } from '../core/strata-api.js';
import { loadMeta, loadSchemaHistory, schemaFromHistory } from '../materializer/materializer.js';
import { sliceChecksum } from '../query/checksum.js';
import * as K from '../store/keys.js';
import { decodeMeta, type GraphMeta } from '../store/records.js';
import { Store, type KeyValue } from '../store/rocks.js';

export const BACKUP_FORMAT = 'strata-backup-v1';
export const BACKUP_MANIFEST = 'backup.json';
/** Names of backups made through the API: one path segment under the backup directory. */
export const BACKUP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** One graph in a backup (and in `backup.json`): what the API answers, with its place in the backup. */
export interface GraphBackup extends Omit<BackupInfo, 'dir'> {
  /** The graph's RocksDB inside the backup directory: `state/<graph>`. */
  path: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  startedAt: string;
  finishedAt: string;
  graphs: GraphBackup[];
}

/** The subset of pino the backup logs through. */
export interface BackupLogger {
  info(obj: object, msg: string): void;
}

export interface CopyOptions {
  logger?: BackupLogger;
  /** A `backup progress` line at most this often (default 5 s). */
  progressEveryMs?: number;
  /** Compute the copy's checksum at its offset (default true; it reads every live entity of the copy once). */
  checksum?: boolean;
  /** Entries per page to start with (adapted to keep pages near PAGE_BYTES). */
  pageKeys?: number;
  /** Stops the copy between pages (the server is closing). */
  signal?: AbortSignal;
}

/** Target size of one page: one snapshot read and one write batch of the copy. */
const PAGE_BYTES = 4 * 1024 * 1024;
const PAGE_KEYS_MIN = 16;
const PAGE_KEYS_MAX = 4096;
const PAGE_KEYS_DEFAULT = 512;
const PROGRESS_EVERY_MS = 5_000;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Refuses a target that exists and is not empty (a backup never overwrites), then creates it. */
export async function prepareBackupDir(dir: string): Promise<void> {
  try {
    const found = await stat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (found !== null && !found.isDirectory()) throw new StrataError('backup_target_exists', `the backup target ${dir} exists and is not a directory`, { dir });
    if (found !== null && (await readdir(dir)).length > 0) throw new StrataError('backup_target_exists', `the backup target ${dir} exists and is not empty; a backup never overwrites`, { dir });
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw err instanceof StrataError ? err : backupFailed(dir, err);
  }
}

export function backupFailed(dir: string, err: unknown): StrataError {
  const reason = err instanceof Error ? err.message : String(err);
  return new StrataError('backup_failed', `the backup to ${dir} failed: ${reason}`, { dir, reason, ...(typeof (err as NodeJS.ErrnoException)?.code === 'string' ? { errno: (err as NodeJS.ErrnoException).code } : {}) });
}

async function diskUsage(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    total += entry.isDirectory() ? await diskUsage(full) : (await stat(full)).size;
  }
  return total;
}

/**
 * Copies every key of `source`, as of one snapshot, into a fresh RocksDB at `<dir>/state/<graph>`
 * (which must not exist), flushes it to SST files and, unless told not to, computes its checksum.
 */
export async function copyGraphState(graph: string, source: Store, dir: string, options: CopyOptions = {}): Promise<GraphBackup> {
  const started = Date.now();
  const logger = options.logger;
  const path = join('state', graph);
  const targetPath = join(dir, path);
  if (await exists(targetPath)) throw new StrataError('backup_target_exists', `the backup target ${targetPath} already exists`, { dir: targetPath });
  const snapshot = source.snapshot();
  let target: Store | null = null;
  try {
    const metaBuf = await snapshot.get(K.metaKey('state'));
    const meta: GraphMeta | null = metaBuf === null ? null : decodeMeta(metaBuf);
    logger?.info({ graph, dir, offset: meta?.offset ?? -1 }, 'backup started');
    target = await Store.open(targetPath);
    let keys = 0;
    let bytes = 0;
    let pageKeys = options.pageKeys ?? PAGE_KEYS_DEFAULT;
    let lastLog = started;
    const read = (after: Buffer | null, limit: number) => {
      const p = snapshot.page(after, limit);
      p.catch(() => undefined); // awaited below; a failing write must not leave it unhandled meanwhile
      return { p, limit };
    };
    let next: { p: Promise<KeyValue[]>; limit: number } | null = read(null, pageKeys);
    while (next !== null) {
      if (options.signal?.aborted) throw new Error('the server is closing');
      const page: KeyValue[] = await next.p;
      let pageBytes = 0;
      for (const kv of page) pageBytes += kv.key.length + kv.value.length;
      // Pages near PAGE_BYTES: large values make small pages, small values large ones.
      if (pageBytes > PAGE_BYTES) pageKeys = Math.max(PAGE_KEYS_MIN, pageKeys >> 1);
      else if (pageBytes < PAGE_BYTES / 4 && page.length === next.limit) pageKeys = Math.min(PAGE_KEYS_MAX, pageKeys * 2);
      // The next read overlaps this page's write.
      next = page.length === next.limit ? read(page[page.length - 1]!.key, pageKeys) : null;
      await target.write(page);
      keys += page.length;
      bytes += pageBytes;
      const now = Date.now();
      if (now - lastLog >= (options.progressEveryMs ?? PROGRESS_EVERY_MS)) {
        lastLog = now;
        logger?.info({ graph, keys, bytes, keysPerSecond: Math.round((keys * 1000) / Math.max(1, now - started)) }, 'backup progress');
      }
    }
    await target.flush();
    const viewsBuf = await target.get(K.metaKey('views'));
    const viewsOffset = viewsBuf === null ? -1 : (JSON.parse(viewsBuf.toString('utf8')) as { offset: number }).offset;
    let checksum: SliceChecksum | null = null;
    if (options.checksum !== false) {
      const stored = await loadMeta(target); // also refuses a copy of another key layout
      const schema = schemaFromHistory(await loadSchemaHistory(target), stored.offset);
      checksum = await sliceChecksum(target, schema, stored.offset);
    }
    await target.close();
    target = null;
    const result: GraphBackup = {
      graph,
      path,
      offset: meta?.offset ?? -1,
      materializedTime: meta === null || meta.offset < 0 ? null : new Date(meta.timeMs).toISOString(),
      transactions: meta?.txs ?? 0,
      viewsOffset,
      keyLayoutVersion: meta?.keyLayoutVersion ?? K.KEY_LAYOUT_VERSION,
      keys,
      bytes,
      diskBytes: await diskUsage(targetPath),
      checksum,
      ms: Date.now() - started,
    };
    logger?.info({ ...result, checksum: checksum?.checksum ?? null }, 'backup of a graph finished');
    return result;
  } finally {
    await snapshot.close();
    if (target !== null) await target.close().catch(() => undefined);
  }
}

/** Writes `backup.json` last and durably: temp file, fsync, rename, fsync of the directory. */
export async function writeManifest(dir: string, manifest: BackupManifest): Promise<void> {
  const file = join(dir, BACKUP_MANIFEST);
  await writeFile(`${file}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await syncPath(`${file}.tmp`);
  await rename(`${file}.tmp`, file);
  await syncPath(dir);
}

export interface BackupSource {
  graph: string;
  store: Store;
}

/**
 * Backs up the graphs into `dir` (refused when it exists and is not empty), one after the other, and
 * writes the manifest. On failure the directory is removed (it was empty or absent before) and the
 * error is `backup_failed` unless it is already a StrataError.
 */
export async function backupGraphs(sources: BackupSource[], dir: string, options: CopyOptions = {}): Promise<BackupManifest> {
  await prepareBackupDir(dir);
  const startedAt = new Date().toISOString();
  const started = Date.now();
  try {
    const graphs: GraphBackup[] = [];
    for (const { graph, store } of sources) graphs.push(await copyGraphState(graph, store, dir, options));
    const manifest: BackupManifest = { format: BACKUP_FORMAT, startedAt, finishedAt: new Date().toISOString(), graphs };
    await writeManifest(dir, manifest);
    const keys = graphs.reduce((n, g) => n + g.keys, 0);
    const bytes = graphs.reduce((n, g) => n + g.bytes, 0);
    const diskBytes = graphs.reduce((n, g) => n + g.diskBytes, 0);
    options.logger?.info({ dir, graphs: graphs.map((g) => ({ graph: g.graph, offset: g.offset })), keys, bytes, diskBytes, ms: Date.now() - started }, 'backup finished');
    return manifest;
  } catch (err) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof StrataError) throw err;
    throw backupFailed(dir, err);
  }
}

/** Reads a backup's manifest; throws when the directory holds no complete backup. */
export async function readManifest(dir: string): Promise<BackupManifest> {
  const manifest = JSON.parse(await readFile(join(dir, BACKUP_MANIFEST), 'utf8')) as BackupManifest;
  if (manifest.format !== BACKUP_FORMAT) throw new Error(`${dir}: unknown backup format ${JSON.stringify(manifest.format)}`);
  for (const g of manifest.graphs) {
    // A restore writes to state/<graph>: a manifest must not steer it anywhere else.
    if (!GRAPH_NAME_PATTERN.test(g.graph) || g.path !== join('state', g.graph) || !Number.isSafeInteger(g.offset)) {
      throw new Error(`${dir}: malformed manifest entry ${JSON.stringify({ graph: g.graph, path: g.path, offset: g.offset })}`);
    }
  }
  return manifest;
}
