// The embedded broker adapter: a durable, segmented, checksummed append-only log per graph on the local
// disk, with group commit, torn-tail recovery on open, a process lock and in-process live tailing.
//
// Directory layout
//   <dir>/LOCK                        pid of the process that has the log open (see acquireLock)
//   <dir>/<graph>/                    one log per graph (the name matches GRAPH_NAME_PATTERN)
//   <dir>/<graph>/<base>.log          a segment: records with offsets base, base+1, … (base: 20 digits)
//   <dir>/<graph>/<base>.index        fixed-width index of that segment (below)
//
// Record, format version 1 (all integers big-endian; strings UTF-8):
//   Record => length crc body
//     length      => uint32   bytes of body
//     crc         => uint32   CRC-32 (zlib.crc32) of the 4 length bytes followed by body
//     body        => magic attributes offset timestampMs key headerCount [header] value
//       magic       => int8     1
//       attributes  => int8     0 (reserved)
//       offset      => int64    the record's offset (dense from 0 within a graph)
//       timestampMs => int64    ms since epoch, assigned by the log, non-decreasing within a graph
//       key         => keyLength:int32 bytes   keyLength -1 means a null key
//       headerCount => uint16
//       header      => nameLength:uint16 name:bytes valueLength:uint32 value:bytes
//       value       => bytes    the rest of body
//
// Index entry (one per record of the segment, in offset order):
//   IndexEntry => endPosition:uint32   byte position just past the record in the segment's .log
//   The record at offset base+i spans [entry(i-1) or 0, entry(i)), so a read of any offset range is
//   one index read plus one log read, whatever the history length.
//
// Durability: a group of appends is written and fdatasync'd before any of them is acknowledged. The
// index of the active segment is not synced per group (it is rebuilt from the log when inconsistent);
// it is synced when a segment is sealed and on close. Opening a log touches only the last segment.

import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readFile, readdir, realpath, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StrataError } from '../core/errors.js';
import { GRAPH_NAME_PATTERN } from '../core/limits.js';
import { syncPath as syncDir } from '../core/fs.js';
import {
  LogUnavailableError,
  type AppendResult,
  type BrokerAdapter,
  type BrokerCapabilities,
  type LogRecord,
  type LogRecordInput,
} from './types.js';

// ---------------------------------------------------------------------------------------------------
// Limits (each with what it costs; candidates for src/core/limits.ts)

/** Largest encoded record: bounds one write, one read buffer and the scan step of recovery. Tx bodies
 * are ≤ 1 MiB, so this leaves room for headers and a future raise of that limit. */
export const RECORD_BYTES_MAX = 4 * 1024 * 1024;
/** Default segment size: a listing of segment files stays short, and rebuilding one segment's index
 * after a power loss reads at most this much. */
export const SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Segment size cap: index entries are uint32, and a segment may exceed its max by one record. */
export const SEGMENT_BYTES_LIMIT = 2 ** 31;
/** Bytes one read returns (at least one record whatever its size): bounds memory per reader. */
export const READ_BYTES_MAX = 4 * 1024 * 1024;
/** Records per tail batch: bounds the work a consumer gets in one step. */
export const TAIL_BATCH_RECORDS_MAX = 1_000;
/** Bytes of appends waiting for the next group commit: bounds memory under a write burst; beyond it
 * appends are refused as unavailable (the caller retries), which is back-pressure, not data loss. */
export const APPEND_QUEUE_BYTES_MAX = 64 * 1024 * 1024;
/** Recent records kept in memory per graph, so live tailers and near-tail reads skip the disk. */
const RECENT_RECORDS_MAX = 1_024;
const RECENT_BYTES_MAX = 4 * 1024 * 1024;
/** Read size of the recovery scan. */
const SCAN_CHUNK_BYTES = 1024 * 1024;
/** Index entries checked backwards from the end before recovery rebuilds the segment's index. */
const INDEX_VERIFY_TRIES = 8;

const MAGIC = 1;
const PREFIX_BYTES = 8; // length + crc
const BODY_FIXED_BYTES = 24; // magic, attributes, offset, timestamp, keyLength, headerCount
const RECORD_BYTES_MIN = PREFIX_BYTES + BODY_FIXED_BYTES;
const POS_OFFSET = 10;
const POS_TIMESTAMP = 18;
const INDEX_ENTRY_BYTES = 4;
const OFFSET_DIGITS = 20;

// ---------------------------------------------------------------------------------------------------
// Public types

export interface AdapterLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface EmbeddedLogOptions {
  /** Root directory; one sub-directory per graph. Created if missing. */
  dir: string;
  /** Clock for record timestamps (ms since epoch); injected for determinism in tests. */
  clock?: () => number;
  logger?: AdapterLogger;
  /** A segment is sealed and a new one started once it would grow past this many bytes. */
  segmentBytesMax?: number;
}

/** Counters for tests and metrics; they only grow. */
export interface EmbeddedLogStats {
  /** fdatasync calls made to acknowledge appends (group commit makes this < appends). */
  fsyncs: number;
  /** Group commits (one write + one fsync of the active segment each). */
  flushes: number;
  recordsAppended: number;
  bytesAppended: number;
  /** Bytes read while opening logs (tail verification); stays ≈ one segment per graph at most. */
  recoveryBytesRead: number;
}

/** An acknowledged record failed its checksum or framing on read: disk corruption, not retriable. */
export class LogCorruptedError extends Error {
  readonly retriable = false;
  constructor(message: string, readonly details: { graph: string; segment: number; offset: number }) {
    super(message);
    this.name = 'LogCorruptedError';
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers shared with the memory adapter (validation, waiting, tailing)

const NO_LOG: AdapterLogger = { info() {}, warn() {} };

/** Throws a plain Error: a bad graph name reaching an adapter is a programmer error (the API checks first). */
export function assertGraphName(graph: string): void {
  if (typeof graph !== 'string' || !GRAPH_NAME_PATTERN.test(graph)) {
    throw new Error(`invalid graph name ${JSON.stringify(graph)}: must match ${GRAPH_NAME_PATTERN}`);
  }
}

export function assertOffset(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${what} must be an integer ≥ 0, got ${String(value)}`);
  }
}

/** Resolves waiters of a graph when it gets new records, without polling. */
export class AppendWaiters {
  private readonly byGraph = new Map<string, Set<() => void>>();

  /** Resolves at once if `ready()` or the signal is aborted, else on the next notify or abort. */
  wait(graph: string, ready: () => boolean, signal: AbortSignal): Promise<void> {
    if (ready() || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const set = this.byGraph.get(graph) ?? new Set<() => void>();
      this.byGraph.set(graph, set);
      const done = (): void => {
        set.delete(done);
        if (set.size === 0 && this.byGraph.get(graph) === set) this.byGraph.delete(graph);
        signal.removeEventListener('abort', done);
        resolve();
      };
      set.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  notify(graph: string): void {
    for (const done of [...(this.byGraph.get(graph) ?? [])]) done();
  }

  notifyAll(): void {
    for (const graph of [...this.byGraph.keys()]) this.notify(graph);
  }
}

export interface FollowSource {
  read(fromOffset: number): Promise<LogRecord[]>;
  /** Resolves once the log may hold `offset`, the signal aborted, or the adapter closed. */
  waitFor(offset: number): Promise<void>;
  isOpen(): boolean;
}

/** The tail loop of every local adapter: catch up by reads, then sleep until notified. */
export async function* followLog(source: FollowSource, fromOffset: number, signal: AbortSignal): AsyncGenerator<LogRecord[]> {
  let next = fromOffset;
  while (!signal.aborted && source.isOpen()) {
    const batch = await source.read(next);
    if (signal.aborted) return;
    if (batch.length === 0) {
      await source.waitFor(next);
      continue;
    }
    next = batch[batch.length - 1]!.offset + 1;
    yield batch;
  }
}

/** A record input encoded once at append time (offset and timestamp are stamped at commit). */
export interface EncodedRecord {
  bytes: Buffer;
  key: string | null;
  headers: Record<string, string>;
  valueStart: number;
}

/** Validates one input and encodes it; throws payload_too_large past RECORD_BYTES_MAX. */
export function encodeRecordInput(input: LogRecordInput): EncodedRecord {
  assertRecordInput(input);
  const keyBytes = input.key === null ? null : Buffer.from(input.key, 'utf8');
  const headers = Object.entries(input.headers ?? {}).map(([name, value]) => [Buffer.from(name, 'utf8'), Buffer.from(value, 'utf8')] as const);
  const headerBytes = headers.reduce((sum, [name, value]) => sum + 6 + name.length + value.length, 0);
  const total = RECORD_BYTES_MIN + (keyBytes?.length ?? 0) + headerBytes + input.value.length;
  if (total > RECORD_BYTES_MAX) {
    throw new StrataError('payload_too_large', `a log record is ${total} bytes; the limit is ${RECORD_BYTES_MAX}`, {
      recordBytes: total,
      recordBytesMax: RECORD_BYTES_MAX,
    });
  }
  const bytes = Buffer.allocUnsafe(total);
  let pos = writeFixedHeader(bytes, total, keyBytes, headers.length);
  for (const [name, value] of headers) {
    if (name.length > 0xffff) throw new Error('a record header name is longer than 65535 bytes');
    pos = bytes.writeUInt16BE(name.length, pos);
    pos += name.copy(bytes, pos);
    pos = bytes.writeUInt32BE(value.length, pos);
    pos += value.copy(bytes, pos);
  }
  input.value.copy(bytes, pos);
  return { bytes, key: input.key, headers: { ...input.headers }, valueStart: pos };
}

function assertRecordInput(input: LogRecordInput): void {
  if (input === null || typeof input !== 'object') throw new Error('a log record must be an object');
  if (input.key !== null && typeof input.key !== 'string') throw new Error('a log record key must be a string or null');
  if (!Buffer.isBuffer(input.value)) throw new Error('a log record value must be a Buffer');
  for (const value of Object.values(input.headers ?? {})) {
    if (typeof value !== 'string') throw new Error('log record header values must be strings');
  }
  if (Object.keys(input.headers ?? {}).length > 0xffff) throw new Error('a log record has more than 65535 headers');
}

function writeFixedHeader(bytes: Buffer, total: number, keyBytes: Buffer | null, headerCount: number): number {
  bytes.writeUInt32BE(total - PREFIX_BYTES, 0);
  bytes.writeUInt32BE(0, 4);
  bytes.writeInt8(MAGIC, 8);
  bytes.writeInt8(0, 9);
  bytes.fill(0, POS_OFFSET, POS_TIMESTAMP + 8);
  let pos = bytes.writeInt32BE(keyBytes === null ? -1 : keyBytes.length, 26);
  if (keyBytes !== null) pos += keyBytes.copy(bytes, pos);
  return bytes.writeUInt16BE(headerCount, pos);
}

// ---------------------------------------------------------------------------------------------------
// Record codec

/** Fills in offset and timestamp and seals the record with its checksum. */
function stampRecord(bytes: Buffer, offset: number, timestampMs: number): void {
  bytes.writeBigInt64BE(BigInt(offset), POS_OFFSET);
  bytes.writeBigInt64BE(BigInt(timestampMs), POS_TIMESTAMP);
  bytes.writeUInt32BE(crc32(bytes.subarray(PREFIX_BYTES), crc32(bytes.subarray(0, 4))), 4);
}

type Decoded =
  | { kind: 'record'; record: LogRecord; bytes: number }
  | { kind: 'incomplete'; needBytes: number }
  | { kind: 'corrupt'; reason: string };

/** Decodes the record at `pos`; never throws (recovery treats any failure as the end of valid data). */
function decodeRecord(buf: Buffer, pos: number): Decoded {
  if (buf.length - pos < PREFIX_BYTES) return { kind: 'incomplete', needBytes: PREFIX_BYTES };
  const length = buf.readUInt32BE(pos);
  if (length < BODY_FIXED_BYTES || length + PREFIX_BYTES > RECORD_BYTES_MAX) return { kind: 'corrupt', reason: `bad length ${length}` };
  const end = pos + PREFIX_BYTES + length;
  if (end > buf.length) return { kind: 'incomplete', needBytes: PREFIX_BYTES + length };
  const expected = crc32(buf.subarray(pos + PREFIX_BYTES, end), crc32(buf.subarray(pos, pos + 4)));
  if (expected !== buf.readUInt32BE(pos + 4)) return { kind: 'corrupt', reason: 'checksum mismatch' };
  try {
    return { kind: 'record', record: decodeBody(buf.subarray(pos + PREFIX_BYTES, end)), bytes: end - pos };
  } catch (err) {
    return { kind: 'corrupt', reason: (err as Error).message };
  }
}

function decodeBody(body: Buffer): LogRecord {
  if (body.readInt8(0) !== MAGIC) throw new Error(`unknown record format ${body.readInt8(0)}`);
  const offset = Number(body.readBigInt64BE(POS_OFFSET - PREFIX_BYTES));
  const timestampMs = Number(body.readBigInt64BE(POS_TIMESTAMP - PREFIX_BYTES));
  const keyLength = body.readInt32BE(18);
  let pos = 22;
  const key = keyLength < 0 ? null : body.toString('utf8', pos, (pos += within(body, pos, keyLength)));
  const headerCount = body.readUInt16BE(pos);
  pos += 2;
  const entries: [string, string][] = [];
  for (let i = 0; i < headerCount; i++) {
    const nameLength = body.readUInt16BE(pos);
    const name = body.toString('utf8', pos + 2, (pos += 2 + within(body, pos + 2, nameLength)));
    const valueLength = body.readUInt32BE(pos);
    entries.push([name, body.toString('utf8', pos + 4, (pos += 4 + within(body, pos + 4, valueLength)))]);
  }
  return { offset, timestampMs, key, value: body.subarray(pos), headers: Object.fromEntries(entries) };
}

/** Returns `length` if [pos, pos+length) lies inside `buf`, else throws. */
function within(buf: Buffer, pos: number, length: number): number {
  if (pos + length > buf.length) throw new Error('field runs past the end of the record');
  return length;
}

// ---------------------------------------------------------------------------------------------------
// File helpers

function segmentFile(graphDir: string, base: number, ext: 'log' | 'index'): string {
  return join(graphDir, `${String(base).padStart(OFFSET_DIGITS, '0')}.${ext}`);
}

async function listSegmentBases(graphDir: string): Promise<number[]> {
  const names = await readdir(graphDir);
  const pattern = new RegExp(`^\\d{${OFFSET_DIGITS}}\\.log$`);
  return names.filter((name) => pattern.test(name)).map((name) => Number(name.slice(0, OFFSET_DIGITS))).sort((a, b) => a - b);
}

/** Reads up to `length` bytes at `position`; shorter only at end of file. */
async function readAt(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await fh.read(buf, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buf.subarray(0, filled);
}

async function writeAt(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < buf.length) {
    const { bytesWritten } = await fh.write(buf, written, buf.length - written, position + written);
    written += bytesWritten;
  }
}

function isErrno(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

/** Operating errors (EIO, ENOSPC, …) become LogUnavailableError; programmer errors pass through. */
function asUnavailable(err: unknown, what: string): unknown {
  if (!isErrno(err)) return err;
  return new LogUnavailableError(`${what} failed: ${err.code ?? 'error'} ${err.message}`, 1, { cause: err });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrno(err) && err.code === 'ENOENT') return false;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------
// Process lock: <dir>/LOCK holds the owner's pid. It is created atomically with its content (link of a
// written temp file), so a reader never sees an empty lock. A lock whose pid is dead is stale and taken
// over. Locks held by this process are tracked too, because after a container restart the same pid can
// belong to a new process. Known gap: two processes taking over the same stale lock at the same instant
// can both succeed (unlink + link is not one atomic step).

const locksHeld = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err) && err.code === 'EPERM';
  }
}

async function tryCreateLock(lockPath: string): Promise<boolean> {
  const temp = `${lockPath}.${process.pid}.tmp`;
  const fh = await open(temp, 'w');
  try {
    await fh.writeFile(`${process.pid}\n`);
  } finally {
    await fh.close();
  }
  try {
    await link(temp, lockPath);
    return true;
  } catch (err) {
    if (isErrno(err) && err.code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

async function readLockPid(lockPath: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(await readFile(lockPath, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch (err) {
    if (isErrno(err) && err.code === 'ENOENT') return null;
    throw err;
  }
}

async function acquireLock(dir: string, logger: AdapterLogger): Promise<string> {
  const key = await realpath(dir);
  if (locksHeld.has(key)) throw new Error(`log directory ${dir} is already open in this process (pid ${process.pid})`);
  // Claimed before any await, so a LOCK holding our own pid can only be a previous incarnation's.
  locksHeld.add(key);
  try {
    await takeLockFile(dir, logger);
    return key;
  } catch (err) {
    locksHeld.delete(key);
    throw err;
  }
}

async function takeLockFile(dir: string, logger: AdapterLogger): Promise<void> {
  const lockPath = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreateLock(lockPath)) return;
    const holder = await readLockPid(lockPath);
    if (holder !== null && holder !== process.pid && isAlive(holder)) {
      throw new Error(`log directory ${dir} is locked by running process ${holder} (${lockPath})`);
    }
    logger.warn({ lockPath, stalePid: holder }, 'taking over a stale log lock');
    await rm(lockPath, { force: true });
  }
  throw new Error(`could not take the log lock ${lockPath}`);
}

async function releaseLock(dir: string, key: string): Promise<void> {
  locksHeld.delete(key);
  const lockPath = join(dir, 'LOCK');
  if ((await readLockPid(lockPath)) === process.pid) await rm(lockPath, { force: true });
}

// ---------------------------------------------------------------------------------------------------
// Recovery of the active (last) segment: the only part of a log that can be torn by a crash, since
// sealed segments were synced before the next one was created.

interface ActiveSegment {
  base: number;
  log: FileHandle;
  index: FileHandle;
  /** Bytes and records written (equal to the acknowledged ones whenever no flush is in flight). */
  bytes: number;
  count: number;
}

interface RecoveryContext {
  graph: string;
  logger: AdapterLogger;
  stats: EmbeddedLogStats;
}

interface ScanResult {
  ends: number[];
  end: number;
  lastTimestampMs: number | null;
  stopReason: string | null;
}

/** Reads the index entries; keeps the longest prefix that is plausible (increasing, inside the log). */
async function readPlausibleIndex(index: FileHandle, logBytes: number, ctx: RecoveryContext): Promise<{ ends: number[]; stored: number }> {
  const size = (await index.stat()).size;
  const buf = await readAt(index, size - (size % INDEX_ENTRY_BYTES), 0);
  ctx.stats.recoveryBytesRead += buf.length;
  const ends: number[] = [];
  let previous = 0;
  for (let pos = 0; pos < buf.length; pos += INDEX_ENTRY_BYTES) {
    const end = buf.readUInt32BE(pos);
    if (end - previous < RECORD_BYTES_MIN || end > logBytes) break;
    ends.push(end);
    previous = end;
  }
  return { ends, stored: size / INDEX_ENTRY_BYTES };
}

/** Checks that index entry k really ends the record with offset base+k; walks back a few on failure. */
async function verifiedPrefix(seg: ActiveSegment, ends: number[], ctx: RecoveryContext): Promise<{ count: number; lastTimestampMs: number | null }> {
  for (let count = ends.length, tries = 0; count > 0 && tries < INDEX_VERIFY_TRIES; count--, tries++) {
    const start = count > 1 ? ends[count - 2]! : 0;
    if (ends[count - 1]! - start > RECORD_BYTES_MAX) continue;
    const buf = await readAt(seg.log, ends[count - 1]! - start, start);
    ctx.stats.recoveryBytesRead += buf.length;
    const decoded = decodeRecord(buf, 0);
    if (decoded.kind === 'record' && decoded.bytes === buf.length && decoded.record.offset === seg.base + count - 1) {
      return { count, lastTimestampMs: decoded.record.timestampMs };
    }
  }
  return { count: 0, lastTimestampMs: null };
}

/** Scans records forward from `from` until the end of the file or the first invalid record. */
async function scanForward(seg: ActiveSegment, from: number, firstOffset: number, logBytes: number, ctx: RecoveryContext): Promise<ScanResult> {
  const result: ScanResult = { ends: [], end: from, lastTimestampMs: null, stopReason: null };
  let buf: Buffer = Buffer.alloc(0);
  let bufStart = from;
  let atEndOfFile = false;
  while (result.end < logBytes) {
    const decoded = decodeRecord(buf, result.end - bufStart);
    if (decoded.kind === 'incomplete') {
      if (atEndOfFile) return { ...result, stopReason: 'truncated record' };
      // Refill from the record's start; a short read means the file ends inside this record.
      const want = Math.max(SCAN_CHUNK_BYTES, decoded.needBytes);
      bufStart = result.end;
      buf = await readAt(seg.log, want, bufStart);
      ctx.stats.recoveryBytesRead += buf.length;
      atEndOfFile = buf.length < want || bufStart + buf.length >= logBytes;
      continue;
    }
    if (decoded.kind === 'corrupt') return { ...result, stopReason: decoded.reason };
    if (decoded.record.offset !== firstOffset + result.ends.length) return { ...result, stopReason: `unexpected offset ${decoded.record.offset}` };
    result.end += decoded.bytes;
    result.ends.push(result.end);
    result.lastTimestampMs = decoded.record.timestampMs;
  }
  return result;
}

/** Brings the active segment to a consistent state: valid records only, index matching them. */
async function recoverActive(seg: ActiveSegment, ctx: RecoveryContext): Promise<number | null> {
  const logBytes = (await seg.log.stat()).size;
  const { ends, stored } = await readPlausibleIndex(seg.index, logBytes, ctx);
  const prefix = await verifiedPrefix(seg, ends, ctx);
  const scanFrom = prefix.count > 0 ? ends[prefix.count - 1]! : 0;
  const scan = await scanForward(seg, scanFrom, seg.base + prefix.count, logBytes, ctx);
  seg.count = prefix.count + scan.ends.length;
  seg.bytes = scan.end;
  if (scan.end < logBytes) {
    ctx.logger.warn(
      { graph: ctx.graph, segment: seg.base, droppedFromOffset: seg.base + seg.count, droppedFromByte: scan.end, droppedBytes: logBytes - scan.end, reason: scan.stopReason },
      'dropped an unacknowledged torn tail of the log',
    );
    await seg.log.truncate(scan.end);
    await seg.log.datasync();
  }
  if (prefix.count < stored) {
    ctx.logger.warn({ graph: ctx.graph, segment: seg.base, indexEntries: stored, trusted: prefix.count }, 'rebuilt the tail of a segment index');
  }
  if (prefix.count < stored || scan.ends.length > 0) await rewriteIndexTail(seg.index, prefix.count, scan.ends);
  return scan.lastTimestampMs ?? prefix.lastTimestampMs;
}

async function rewriteIndexTail(index: FileHandle, keep: number, ends: number[]): Promise<void> {
  await index.truncate(keep * INDEX_ENTRY_BYTES);
  const buf = Buffer.allocUnsafe(ends.length * INDEX_ENTRY_BYTES);
  ends.forEach((end, i) => buf.writeUInt32BE(end, i * INDEX_ENTRY_BYTES));
  await writeAt(index, buf, keep * INDEX_ENTRY_BYTES);
  await index.datasync();
}

// ---------------------------------------------------------------------------------------------------
// One graph's log: a queue feeding group commits, sealed segments plus an active one, a recent cache.

interface PendingAppend {
  records: EncodedRecord[];
  bytes: number;
  resolve(results: AppendResult[]): void;
  reject(err: unknown): void;
}

interface GraphLogContext extends RecoveryContext {
  graphDir: string;
  clock: () => number;
  segmentBytesMax: number;
  onAppend(): void;
}

const READ_FLAGS = fsConstants.O_RDONLY;
const WRITE_FLAGS = fsConstants.O_RDWR | fsConstants.O_CREAT;
const CREATE_FLAGS = fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL;

class GraphLog {
  /** Offset the next acknowledged record gets; readers see only offsets below it. */
  endOffset = 0;
  private lastTimestampMs = 0;
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  private flushing: Promise<void> | null = null;
  /** Set after a failure whose on-disk effect is unknown; appends are refused until reopen. */
  private broken: Error | null = null;
  /** Whether the current flush has started syncing or rolling (then a failure cannot be undone). */
  private pastUndo = false;
  private recent: LogRecord[] = [];
  private recentBytes = 0;
  /** An append that looked the log up just before the adapter closed must not write to closed files. */
  private closed = false;

  private constructor(
    private readonly ctx: GraphLogContext,
    private readonly bases: number[],
    private active: ActiveSegment,
  ) {}

  static async open(ctx: GraphLogContext, create: boolean): Promise<GraphLog> {
    if (create) await createGraphDir(ctx.graphDir);
    let bases = await listSegmentBases(ctx.graphDir);
    if (bases.length === 0) {
      await createSegmentFiles(ctx.graphDir, 0);
      bases = [0];
    }
    const base = bases[bases.length - 1]!;
    const seg = await openActive(ctx.graphDir, base);
    try {
      const log = new GraphLog(ctx, bases, seg);
      await log.recover();
      return log;
    } catch (err) {
      await Promise.allSettled([seg.log.close(), seg.index.close()]);
      throw err;
    }
  }

  private async recover(): Promise<void> {
    const lastTimestampMs = await recoverActive(this.active, this.ctx);
    this.endOffset = this.active.base + this.active.count;
    this.lastTimestampMs = lastTimestampMs ?? (await this.previousSegmentTimestamp()) ?? 0;
  }

  /** An empty active segment follows a sealed one; the last timestamp lives there (one record read). */
  private async previousSegmentTimestamp(): Promise<number | null> {
    if (this.bases.length < 2) return null;
    const base = this.bases[this.bases.length - 2]!;
    const last = await this.readSegment(base, this.active.base - 1, 1, RECORD_BYTES_MAX);
    return last.records[0]?.timestampMs ?? null;
  }

  enqueue(records: EncodedRecord[]): Promise<AppendResult[]> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new LogUnavailableError(`the log of graph "${this.ctx.graph}" is closed`));
    const bytes = records.reduce((sum, r) => sum + r.bytes.length, 0);
    if (this.queuedBytes + bytes > APPEND_QUEUE_BYTES_MAX && this.queue.length > 0) {
      return Promise.reject(new LogUnavailableError(`the append queue of graph "${this.ctx.graph}" is full`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ records, bytes, resolve, reject });
      this.queuedBytes += bytes;
      // Starting the flush in a microtask lets appends made in the same tick join the first group.
      this.flushing ??= Promise.resolve().then(() => this.flushLoop());
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        this.queuedBytes = 0;
        if (this.broken) batch.forEach((p) => p.reject(this.broken));
        else await this.flushBatch(batch).catch((err: unknown) => this.failBatch(batch, err));
      }
    } finally {
      this.flushing = null;
    }
  }

  /** One group commit: stamp, write, fsync, then acknowledge every append of the batch. */
  private async flushBatch(batch: PendingAppend[]): Promise<void> {
    const undo = { bytes: this.active.bytes, count: this.active.count };
    this.pastUndo = false;
    let stamped: { results: AppendResult[][]; records: LogRecord[]; lastTimestampMs: number };
    try {
      stamped = this.stamp(batch);
      await this.writeDurably(batch.flatMap((p) => p.records.map((r) => r.bytes)));
    } catch (err) {
      const failure = await this.afterFailure(err, undo);
      batch.forEach((p) => p.reject(failure));
      return;
    }
    this.endOffset += stamped.records.length;
    this.lastTimestampMs = stamped.lastTimestampMs;
    this.remember(stamped.records);
    this.ctx.stats.flushes++;
    this.ctx.stats.recordsAppended += stamped.records.length;
    this.ctx.stats.bytesAppended += batch.reduce((sum, p) => sum + p.bytes, 0);
    batch.forEach((p, i) => p.resolve(stamped.results[i]!));
    this.ctx.onAppend();
  }

  /** Last resort for a bug in the flush path: nothing may stay pending, and the log state is unknown. */
  private failBatch(batch: PendingAppend[], err: unknown): void {
    this.broken = err instanceof Error ? err : new Error(String(err));
    this.ctx.logger.warn({ graph: this.ctx.graph, err: String(err) }, 'group commit failed unexpectedly; appends refused until reopen');
    batch.forEach((p) => p.reject(err));
  }

  /** Assigns dense offsets and non-decreasing timestamps (the clock may step back; the log may not). */
  private stamp(batch: PendingAppend[]): { results: AppendResult[][]; records: LogRecord[]; lastTimestampMs: number } {
    let offset = this.endOffset;
    let timestampMs = this.lastTimestampMs;
    const records: LogRecord[] = [];
    const results = batch.map((p) =>
      p.records.map((r) => {
        const now = this.ctx.clock();
        if (!Number.isFinite(now)) throw new Error(`the clock returned ${now}`);
        timestampMs = Math.max(timestampMs, Math.trunc(now));
        stampRecord(r.bytes, offset, timestampMs);
        records.push({ offset, timestampMs, key: r.key, value: r.bytes.subarray(r.valueStart), headers: r.headers });
        return { offset: offset++, timestampMs };
      }),
    );
    return { results, records, lastTimestampMs: timestampMs };
  }

  /** Writes records in order, rolling segments at segmentBytesMax, then fsyncs the active segment. */
  private async writeDurably(buffers: Buffer[]): Promise<void> {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    for (const buf of buffers) {
      const segmentUsed = this.active.count > 0 || chunk.length > 0;
      if (segmentUsed && this.active.bytes + chunkBytes + buf.length > this.ctx.segmentBytesMax) {
        await this.writeChunk(chunk, chunkBytes);
        chunk = [];
        chunkBytes = 0;
        await this.roll();
      }
      chunk.push(buf);
      chunkBytes += buf.length;
    }
    await this.writeChunk(chunk, chunkBytes);
    this.pastUndo = true;
    await this.active.log.datasync();
    this.ctx.stats.fsyncs++;
  }

  private async writeChunk(chunk: Buffer[], chunkBytes: number): Promise<void> {
    if (chunk.length === 0) return;
    const seg = this.active;
    const index = Buffer.allocUnsafe(chunk.length * INDEX_ENTRY_BYTES);
    let end = seg.bytes;
    chunk.forEach((buf, i) => index.writeUInt32BE((end += buf.length), i * INDEX_ENTRY_BYTES));
    // Both writes at once: one worker round trip less per group commit. Neither is ordered on disk
    // before the fsync anyway, and recovery trusts an index entry only if the log bytes it names check
    // out. Both settle before a failure is handled, so an undo never races a write in flight.
    const [log, idx] = await Promise.allSettled([writeAt(seg.log, Buffer.concat(chunk, chunkBytes), seg.bytes), writeAt(seg.index, index, seg.count * INDEX_ENTRY_BYTES)]);
    if (log.status === 'rejected') throw log.reason;
    if (idx.status === 'rejected') throw idx.reason;
    seg.bytes += chunkBytes;
    seg.count += chunk.length;
  }

  /** Seals the active segment (data and index synced) before the next one exists, so only the last
   * segment can ever need recovery. */
  private async roll(): Promise<void> {
    this.pastUndo = true;
    const old = this.active;
    await old.log.datasync();
    this.ctx.stats.fsyncs++;
    await old.index.datasync();
    await Promise.all([old.log.close(), old.index.close()]);
    const base = old.base + old.count;
    await createSegmentFiles(this.ctx.graphDir, base);
    this.active = await openActive(this.ctx.graphDir, base);
    this.bases.push(base);
  }

  /** Undoes a failed write when nothing was synced yet (e.g. ENOSPC); otherwise refuses further appends,
   * because after a failed fsync the kernel's view of the file can no longer be trusted. */
  private async afterFailure(err: unknown, undo: { bytes: number; count: number }): Promise<unknown> {
    const failure = asUnavailable(err, `append to graph "${this.ctx.graph}"`);
    if (!isErrno(err)) return failure;
    if (!this.pastUndo) {
      try {
        await this.active.log.truncate(undo.bytes);
        await this.active.index.truncate(undo.count * INDEX_ENTRY_BYTES);
        Object.assign(this.active, undo);
        return failure;
      } catch {
        // Fall through: the file may hold a partial write we cannot remove.
      }
    }
    this.broken = failure as Error;
    this.ctx.logger.warn({ graph: this.ctx.graph, err: String(err) }, 'log write failed; appends refused until the log is reopened');
    return failure;
  }

  private remember(records: LogRecord[]): void {
    for (const r of records) {
      this.recent.push(r);
      this.recentBytes += r.value.length;
    }
    let drop = 0;
    while (this.recent.length - drop > RECENT_RECORDS_MAX || (this.recentBytes > RECENT_BYTES_MAX && drop < this.recent.length)) {
      this.recentBytes -= this.recent[drop++]!.value.length;
    }
    if (drop > 0) this.recent.splice(0, drop);
  }

  /** Reads acknowledged records from `from`, across segments, bounded by count and READ_BYTES_MAX. */
  async read(from: number, maxRecords: number): Promise<LogRecord[]> {
    const end = this.endOffset;
    if (from >= end || maxRecords === 0) return [];
    const cached = this.fromRecent(from, maxRecords);
    if (cached) return cached;
    const out: LogRecord[] = [];
    let budget = READ_BYTES_MAX;
    for (let next = from; next < end && out.length < maxRecords && budget > 0; ) {
      const i = segmentIndexOf(this.bases, next);
      const segmentEnd = Math.min(this.bases[i + 1] ?? end, end);
      const chunk = await this.readSegment(this.bases[i]!, next, Math.min(maxRecords - out.length, segmentEnd - next), budget);
      budget -= chunk.bytes;
      out.push(...chunk.records);
      next += chunk.records.length;
    }
    return out;
  }

  /** Serves reads near the tail from memory; copies, so a consumer cannot alter what others read. */
  private fromRecent(from: number, maxRecords: number): LogRecord[] | null {
    const first = this.recent[0];
    if (!first || from < first.offset) return null;
    const slice = this.recent.slice(from - first.offset, from - first.offset + maxRecords);
    return slice.map((r) => ({ ...r, value: Buffer.from(r.value), headers: { ...r.headers } }));
  }

  /** One index read for the byte range, one log read for the records. `budgetBytes` caps the bytes
   * read, except that the first record is always returned (so a read always makes progress). */
  private async readSegment(base: number, from: number, count: number, budgetBytes: number): Promise<{ records: LogRecord[]; bytes: number }> {
    const [log, index] = await Promise.all([open(segmentFile(this.ctx.graphDir, base, 'log'), READ_FLAGS), open(segmentFile(this.ctx.graphDir, base, 'index'), READ_FLAGS)]);
    try {
      const ends = await this.readEnds(index, base, from, count);
      const start = ends[0]!;
      let n = 1;
      while (n < count && ends[n + 1]! - start <= budgetBytes) n++;
      const buf = await readAt(log, ends[n]! - start, start);
      return { records: this.decodeRange(buf, base, from, ends.slice(0, n + 1)), bytes: buf.length };
    } finally {
      await Promise.allSettled([log.close(), index.close()]);
    }
  }

  /** Returns count+1 positions: the start of `from` followed by the end of each record. */
  private async readEnds(index: FileHandle, base: number, from: number, count: number): Promise<number[]> {
    const rel = from - base;
    const first = rel === 0 ? 0 : rel - 1;
    const buf = await readAt(index, (rel + count - first) * INDEX_ENTRY_BYTES, first * INDEX_ENTRY_BYTES);
    if (buf.length !== (rel + count - first) * INDEX_ENTRY_BYTES) this.corrupt(base, from, 'index shorter than the log');
    const ends = rel === 0 ? [0] : [];
    for (let pos = 0; pos < buf.length; pos += INDEX_ENTRY_BYTES) ends.push(buf.readUInt32BE(pos));
    return ends;
  }

  private decodeRange(buf: Buffer, base: number, from: number, ends: number[]): LogRecord[] {
    const records: LogRecord[] = [];
    for (let i = 0; i + 1 < ends.length; i++) {
      const decoded = decodeRecord(buf, ends[i]! - ends[0]!);
      const offset = from + i;
      if (decoded.kind !== 'record') this.corrupt(base, offset, decoded.kind === 'corrupt' ? decoded.reason : 'truncated record');
      if (decoded.record.offset !== offset || decoded.bytes !== ends[i + 1]! - ends[i]!) this.corrupt(base, offset, 'record does not match the index');
      records.push(decoded.record);
    }
    return records;
  }

  private corrupt(segment: number, offset: number, reason: string): never {
    throw new LogCorruptedError(`log of graph "${this.ctx.graph}" is corrupt at offset ${offset} (segment ${segment}): ${reason}`, {
      graph: this.ctx.graph,
      segment,
      offset,
    });
  }

  /** Waits for in-flight group commits, syncs the index (so a clean restart needs no rebuild), closes. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.closed = true;
    try {
      await this.active.index.datasync();
    } catch (err) {
      this.ctx.logger.warn({ graph: this.ctx.graph, err: String(err) }, 'index sync on close failed');
    }
    await Promise.allSettled([this.active.log.close(), this.active.index.close()]);
  }
}

/** The greatest segment base ≤ offset (segments are sorted, the first has base 0). */
function segmentIndexOf(bases: number[], offset: number): number {
  let lo = 0;
  let hi = bases.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (bases[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

async function createGraphDir(graphDir: string): Promise<void> {
  try {
    await mkdir(graphDir);
  } catch (err) {
    if (isErrno(err) && err.code === 'EEXIST') return;
    throw err;
  }
  await syncDir(join(graphDir, '..'));
}

async function createSegmentFiles(graphDir: string, base: number): Promise<void> {
  for (const ext of ['log', 'index'] as const) {
    const fh = await open(segmentFile(graphDir, base, ext), CREATE_FLAGS);
    await fh.close();
  }
  await syncDir(graphDir);
}

async function openActive(graphDir: string, base: number): Promise<ActiveSegment> {
  const log = await open(segmentFile(graphDir, base, 'log'), fsConstants.O_RDWR);
  try {
    const index = await open(segmentFile(graphDir, base, 'index'), WRITE_FLAGS);
    return { base, log, index, bytes: 0, count: 0 };
  } catch (err) {
    await log.close();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------
// The adapter

export class EmbeddedLogAdapter implements BrokerAdapter {
  readonly name = 'embedded';
  readonly supports: BrokerCapabilities = Object.freeze({ durable: true, offsetGaps: false, outputTopics: false, shared: false });
  readonly stats: EmbeddedLogStats = { fsyncs: 0, flushes: 0, recordsAppended: 0, bytesAppended: 0, recoveryBytesRead: 0 };

  private readonly dir: string;
  private readonly clock: () => number;
  private readonly logger: AdapterLogger;
  private readonly segmentBytesMax: number;
  private state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';
  private lockKey: string | null = null;
  private readonly logs = new Map<string, Promise<GraphLog>>();
  private readonly loaded = new Map<string, GraphLog>();
  private readonly waiters = new AppendWaiters();

  constructor(options: EmbeddedLogOptions) {
    if (typeof options?.dir !== 'string' || options.dir === '') throw new Error('EmbeddedLogAdapter needs a dir');
    const segmentBytesMax = options.segmentBytesMax ?? SEGMENT_BYTES_DEFAULT;
    if (!Number.isSafeInteger(segmentBytesMax) || segmentBytesMax < RECORD_BYTES_MIN || segmentBytesMax > SEGMENT_BYTES_LIMIT) {
      throw new Error(`segmentBytesMax must be an integer in [${RECORD_BYTES_MIN}, ${SEGMENT_BYTES_LIMIT}]`);
    }
    this.dir = options.dir;
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? NO_LOG;
    this.segmentBytesMax = segmentBytesMax;
  }

  async open(): Promise<void> {
    if (this.state !== 'new' && this.state !== 'closed') throw new Error(`cannot open an adapter that is ${this.state}`);
    this.state = 'opening';
    try {
      await mkdir(this.dir, { recursive: true });
      this.lockKey = await acquireLock(this.dir, this.logger);
    } catch (err) {
      this.state = 'closed';
      throw err;
    }
    this.state = 'open';
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.waiters.notifyAll();
    const logs = await Promise.allSettled([...this.logs.values()]);
    await Promise.all(logs.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
    this.logs.clear();
    this.loaded.clear();
    if (this.lockKey !== null) await releaseLock(this.dir, this.lockKey);
    this.lockKey = null;
    this.state = 'closed';
  }

  async listGraphs(): Promise<string[]> {
    this.assertOpen();
    const entries = await readdir(this.dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && GRAPH_NAME_PATTERN.test(e.name)).map((e) => e.name).sort();
  }

  async ensureGraph(graph: string): Promise<void> {
    this.assertOpen();
    assertGraphName(graph);
    await this.guard('create graph', () => this.logFor(graph, true));
  }

  async hasGraph(graph: string): Promise<boolean> {
    this.assertOpen();
    assertGraphName(graph);
    return this.logs.has(graph) || (await exists(join(this.dir, graph)));
  }

  async append(graph: string, records: LogRecordInput[]): Promise<AppendResult[]> {
    this.assertOpen();
    assertGraphName(graph);
    if (!Array.isArray(records)) throw new Error('append needs an array of records');
    const encoded = records.map(encodeRecordInput);
    const bytes = encoded.reduce((sum, r) => sum + r.bytes.length, 0);
    if (bytes > APPEND_QUEUE_BYTES_MAX) throw new StrataError('payload_too_large', `one append of ${bytes} bytes exceeds ${APPEND_QUEUE_BYTES_MAX}`);
    if (encoded.length === 0) return [];
    const log = await this.guard('open graph log', () => this.logFor(graph, true));
    return log!.enqueue(encoded);
  }

  async endOffset(graph: string): Promise<number> {
    this.assertOpen();
    assertGraphName(graph);
    const log = await this.guard('open graph log', () => this.logFor(graph, false));
    return log?.endOffset ?? 0;
  }

  async read(graph: string, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    this.assertOpen();
    assertGraphName(graph);
    assertOffset(fromOffset, 'fromOffset');
    assertOffset(maxRecords, 'maxRecords');
    return this.guard(`read graph "${graph}"`, async () => {
      const log = await this.logFor(graph, false);
      return log ? log.read(fromOffset, maxRecords) : [];
    });
  }

  tail(graph: string, fromOffset: number, signal: AbortSignal): AsyncIterable<LogRecord[]> {
    this.assertOpen();
    assertGraphName(graph);
    assertOffset(fromOffset, 'fromOffset');
    const source: FollowSource = {
      read: (from) => this.read(graph, from, TAIL_BATCH_RECORDS_MAX),
      waitFor: (offset) => this.waiters.wait(graph, () => this.state !== 'open' || (this.loaded.get(graph)?.endOffset ?? 0) > offset, signal),
      isOpen: () => this.state === 'open',
    };
    return followLog(source, fromOffset, signal);
  }

  /** Output topics do not exist in embedded mode (supports.outputTopics is false). */
  async produce(_topic: string, _records: LogRecordInput[]): Promise<void> {
    this.assertOpen();
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`the embedded log adapter is ${this.state}, not open`);
  }

  private async guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw asUnavailable(err, what);
    }
  }

  /** Loads a graph's log once (recovering its tail); with `create`, makes the graph if missing. */
  private async logFor(graph: string, create: boolean): Promise<GraphLog | undefined> {
    const known = this.logs.get(graph);
    if (known) return known;
    const graphDir = join(this.dir, graph);
    if (!create && !(await exists(graphDir))) return undefined;
    let pending = this.logs.get(graph);
    if (!pending) {
      pending = GraphLog.open(this.graphContext(graph, graphDir), create).then((log) => {
        this.loaded.set(graph, log);
        return log;
      });
      this.logs.set(graph, pending);
      pending.catch(() => this.logs.delete(graph));
    }
    return pending;
  }

  private graphContext(graph: string, graphDir: string): GraphLogContext {
    return {
      graph,
      graphDir,
      logger: this.logger,
      stats: this.stats,
      clock: this.clock,
      segmentBytesMax: this.segmentBytesMax,
      onAppend: () => this.waiters.notify(graph),
    };
  }
}
