// Tests of the embedded log: the shared conformance suite, then what only a disk log has — torn-tail
// recovery, segments, bounded restart work, the process lock, group commit and a SIGKILL crash test.
// Run with STRATA_EMBEDDED_CHILD set, this file is instead the child process of the lock and crash tests.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, readdir, rm, stat, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../../src/core/errors.js';
import { EmbeddedLogAdapter, LogCorruptedError, RECORD_BYTES_MAX, type AdapterLogger, type EmbeddedLogOptions } from '../../src/broker-adapters/embedded.js';
import { LogUnavailableError, type LogRecordInput } from '../../src/broker-adapters/types.js';
import { runBrokerConformance } from './conformance.js';

const FIRST_SEGMENT = '00000000000000000000';
/** Two records: (offset 0, key "tx-1", header h=v, value "hi") and (offset 1, null key, empty value). */
const GOLDEN_LOG_HEX =
  '0000002606c1c185010000000000000000000000018bcfe5687b0000000474782d3100010001680000000176686900000018599e7340010000000000000000010000018bcfe5687bffffffff0000';

interface LogLine {
  level: 'info' | 'warn';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function captureLogger(): AdapterLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
  };
}

/** Deterministic content of record i, so a reader can check any record without knowing the writer. */
function expectedRecord(i: number): LogRecordInput {
  return { key: `k${i}`, value: Buffer.alloc(20 + (i % 300), i % 251), headers: { i: String(i) } };
}

function range(count: number, from = 0): LogRecordInput[] {
  return Array.from({ length: count }, (_, i) => expectedRecord(from + i));
}

async function makeHarness(options: Partial<EmbeddedLogOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-embedded-'));
  return {
    adapter: new EmbeddedLogAdapter({ ...options, dir }),
    reopen: async () => new EmbeddedLogAdapter({ ...options, dir }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Child process modes

async function runChild(mode: string, dir: string): Promise<void> {
  const adapter = new EmbeddedLogAdapter({ dir, segmentBytesMax: 16 * 1024 });
  await adapter.open();
  process.stdout.write('ready\n');
  if (mode === 'hold-lock') {
    setInterval(() => undefined, 60_000);
    return;
  }
  // Several appenders keep group commits busy; a line is printed only after its append resolved.
  let next = 0;
  const appender = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const [result] = await adapter.append('crash', [expectedRecord(i)]);
      process.stdout.write(`${result!.offset} ${i}\n`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, appender));
}

function spawnChild(mode: string, dir: string): { child: ChildProcess; lines: string[]; ready: Promise<void> } {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, STRATA_EMBEDDED_CHILD: mode, STRATA_EMBEDDED_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let partial = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    child.once('exit', (code, signal) => reject(new Error(`child exited before it was ready (${code ?? signal})`)));
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      if (line === 'ready') markReady();
      else lines.push(line);
    }
  });
  return { child, lines, ready };
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// ---------------------------------------------------------------------------------------------------
// Tests

function registerTests(): void {
  runBrokerConformance('embedded', () => makeHarness());
  // Tiny segments make every conformance case cross segment boundaries (rolls inside group commits).
  runBrokerConformance('embedded with 4 KiB segments', () => makeHarness({ segmentBytesMax: 4096 }));

  describe('embedded log', () => {
    let dir = '';
    const opened: EmbeddedLogAdapter[] = [];
    const openAdapter = async (options: Partial<EmbeddedLogOptions> = {}): Promise<EmbeddedLogAdapter> => {
      const adapter = new EmbeddedLogAdapter({ ...options, dir });
      await adapter.open();
      opened.push(adapter);
      return adapter;
    };
    const segmentPath = (graph: string, name: string, ext: string) => join(dir, graph, `${name}.${ext}`);

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'strata-embedded-'));
    });
    afterEach(async () => {
      for (const adapter of opened.splice(0)) await adapter.close();
      await rm(dir, { recursive: true, force: true });
    });

    registerTornTailTests(openAdapter, segmentPath);
    registerSegmentTests(openAdapter, segmentPath, () => dir);
    registerLockTests(() => dir, openAdapter);
    registerWritePathTests(() => dir, openAdapter, segmentPath);
    registerCrashTest(() => dir, openAdapter);
  });
}

type OpenAdapter = (options?: Partial<EmbeddedLogOptions>) => Promise<EmbeddedLogAdapter>;
type SegmentPath = (graph: string, name: string, ext: string) => string;

function registerTornTailTests(openAdapter: OpenAdapter, segmentPath: SegmentPath): void {
  async function writeFive(): Promise<void> {
    const adapter = await openAdapter();
    for (let i = 0; i < 5; i++) await adapter.append('g', [expectedRecord(i)]);
    await adapter.close();
  }

  async function assertRecoveredToFour(reason: RegExp): Promise<void> {
    const logger = captureLogger();
    const adapter = await openAdapter({ logger });
    assert.equal(await adapter.endOffset('g'), 4);
    const index = await readFile(segmentPath('g', FIRST_SEGMENT, 'index'));
    assert.equal(index.length, 4 * 4, 'the index lost the dropped record');
    assert.equal((await stat(segmentPath('g', FIRST_SEGMENT, 'log'))).size, index.readUInt32BE(12), 'the log was cut after record 3');
    const warn = logger.lines.find((l) => l.level === 'warn' && l.msg?.includes('torn tail'));
    assert.ok(warn, 'recovery logs a warning');
    assert.equal(warn.obj.droppedFromOffset, 4);
    assert.ok((warn.obj.droppedBytes as number) > 0);
    assert.match(String(warn.obj.reason), reason);
    const records = await adapter.read('g', 0, 10);
    assert.deepEqual(records.map((r) => r.key), ['k0', 'k1', 'k2', 'k3']);
    const [next] = await adapter.append('g', [expectedRecord(99)]);
    assert.equal(next!.offset, 4);
    assert.equal((await stat(segmentPath('g', FIRST_SEGMENT, 'index'))).size, 5 * 4, 'the index matches the log again');
    await adapter.close();
    const clean = captureLogger();
    const again = await openAdapter({ logger: clean });
    assert.equal(await again.endOffset('g'), 5);
    assert.equal(clean.lines.filter((l) => l.level === 'warn').length, 0, 'a clean log opens without warnings');
    assert.equal((await again.read('g', 4, 1))[0]!.key, 'k99');
  }

  it('drops a last record truncated mid-way on reopen, with a warning', async () => {
    await writeFive();
    const log = segmentPath('g', FIRST_SEGMENT, 'log');
    await truncate(log, (await stat(log)).size - 7);
    await assertRecoveredToFour(/truncated/);
  });

  it('drops a last record with a flipped byte on reopen, with a warning', async () => {
    await writeFive();
    const log = segmentPath('g', FIRST_SEGMENT, 'log');
    const fh = await open(log, 'r+');
    const size = (await fh.stat()).size;
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, size - 3);
    await fh.write(Buffer.from([byte[0]! ^ 0x40]), 0, 1, size - 3);
    await fh.close();
    await assertRecoveredToFour(/checksum/);
  });

  it('drops zeroed bytes past the last record and keeps every record', async () => {
    const adapter = await openAdapter();
    await adapter.append('g', range(5));
    await adapter.close();
    const fh = await open(segmentPath('g', FIRST_SEGMENT, 'log'), 'a');
    await fh.write(Buffer.alloc(100));
    await fh.close();
    const logger = captureLogger();
    const reopened = await openAdapter({ logger });
    assert.equal(await reopened.endOffset('g'), 5);
    assert.ok(logger.lines.some((l) => l.level === 'warn' && l.obj.droppedBytes === 100));
  });

  it('rebuilds a missing, short or garbled index of the last segment', async () => {
    const adapter = await openAdapter();
    await adapter.append('g', range(40));
    await adapter.close();
    const index = segmentPath('g', FIRST_SEGMENT, 'index');
    for (const damage of [() => unlink(index), () => truncate(index, 10 * 4 + 2), () => writeFile(index, Buffer.alloc(40 * 4, 0xff))]) {
      await damage();
      const reopened = await openAdapter();
      assert.equal(await reopened.endOffset('g'), 40);
      const records = await reopened.read('g', 17, 5);
      assert.deepEqual(records.map((r) => r.key), ['k17', 'k18', 'k19', 'k20', 'k21']);
      assert.ok(records.every((r, i) => r.value.equals(expectedRecord(17 + i).value)));
      await reopened.close();
      assert.equal((await stat(index)).size, 40 * 4);
    }
  });

  it('reports corruption of an acknowledged record on read, not silently', async () => {
    const adapter = await openAdapter();
    await adapter.append('g', range(10));
    await adapter.close();
    const fh = await open(segmentPath('g', FIRST_SEGMENT, 'log'), 'r+');
    await fh.write(Buffer.from([0xee]), 0, 1, 40); // inside record 0, which recovery does not look at
    await fh.close();
    const reopened = await openAdapter();
    assert.equal(await reopened.endOffset('g'), 10);
    await assert.rejects(reopened.read('g', 0, 1), LogCorruptedError);
    assert.equal((await reopened.read('g', 1, 100)).length, 9);
  });
}

function registerSegmentTests(openAdapter: OpenAdapter, segmentPath: SegmentPath, dir: () => string): void {
  it('writes record format version 1 byte for byte (golden bytes)', async () => {
    const adapter = await openAdapter({ clock: () => 1_700_000_000_123 });
    await adapter.append('g', [{ key: 'tx-1', value: Buffer.from('hi'), headers: { h: 'v' } }, { key: null, value: Buffer.alloc(0) }]);
    await adapter.close();
    const log = await readFile(segmentPath('g', FIRST_SEGMENT, 'log'));
    const index = await readFile(segmentPath('g', FIRST_SEGMENT, 'index'));
    // Index entries are end positions: 46 and 78. A change here is a change of the on-disk format: bump the magic byte and keep a reader for v1.
    assert.equal(log.toString('hex'), GOLDEN_LOG_HEX);
    assert.equal(index.toString('hex'), '0000002e0000004e');
  });

  it('rolls segments at segmentBytesMax, names them by base offset, and reads across them', async () => {
    const adapter = await openAdapter({ segmentBytesMax: 1024 });
    for (let i = 0; i < 300; i += 7) await adapter.append('g', range(Math.min(7, 300 - i), i));
    const logs = (await readdir(join(dir(), 'g'))).filter((name) => name.endsWith('.log')).sort();
    assert.ok(logs.length > 20, `${logs.length} segments`);
    const bases = logs.map((name) => Number(name.slice(0, 20)));
    assert.equal(bases[0], 0);
    for (const base of bases) {
      const size = (await stat(segmentPath('g', String(base).padStart(20, '0'), 'log'))).size;
      assert.ok(size <= 1024, `segment ${base} is ${size} bytes`);
      const [first] = await adapter.read('g', base, 1);
      assert.equal(first!.offset, base, 'a segment starts with the record of its base offset');
    }
    const across = await adapter.read('g', bases[3]! - 2, 60);
    assert.deepEqual(across.map((r) => r.offset), Array.from({ length: 60 }, (_, i) => bases[3]! - 2 + i));
    const all = await adapter.read('g', 0, 1000);
    assert.equal(all.length, 300);
    assert.ok(all.every((r, i) => r.key === `k${i}` && r.value.equals(expectedRecord(i).value)));
  });

  it('reopens by reading only the tail of the last segment, whatever the history', async () => {
    const writer = await openAdapter({ segmentBytesMax: 2048 });
    for (let i = 0; i < 3000; i += 50) await writer.append('g', range(50, i));
    await writer.close();
    // Damage the first segment: a reopen that scanned history would notice (and truncate or fail).
    const fh = await open(segmentPath('g', FIRST_SEGMENT, 'log'), 'r+');
    await fh.write(Buffer.from([0xee]), 0, 1, 60);
    await fh.close();
    const logger = captureLogger();
    const started = performance.now();
    const reader = await openAdapter({ segmentBytesMax: 2048, logger });
    assert.equal(await reader.endOffset('g'), 3000);
    const openMs = performance.now() - started;
    assert.ok(reader.stats.recoveryBytesRead <= 2048 + 4 * 100 + 4096, `read ${reader.stats.recoveryBytesRead} bytes on open`);
    assert.equal(logger.lines.filter((l) => l.level === 'warn').length, 0);
    const middle = await reader.read('g', 1234, 3);
    assert.deepEqual(middle.map((r) => r.key), ['k1234', 'k1235', 'k1236']);
    assert.ok(middle.every((r, i) => r.value.equals(expectedRecord(1234 + i).value)));
    await assert.rejects(reader.read('g', 0, 1), LogCorruptedError);
    assert.ok(openMs < 1_000, `open took ${openMs} ms`);
  });

  it('continues timestamps from the previous segment when the last segment is empty', async () => {
    const writer = await openAdapter({ segmentBytesMax: 1024, clock: () => 1_000 });
    await writer.append('g', range(30));
    await writer.close();
    // A crash right after a roll leaves an empty newest segment: simulate one at the end offset.
    await writeFile(segmentPath('g', '00000000000000000030', 'log'), '');
    await writeFile(segmentPath('g', '00000000000000000030', 'index'), '');
    const reader = await openAdapter({ segmentBytesMax: 1024, clock: () => 5 });
    const [next] = await reader.append('g', [expectedRecord(30)]);
    assert.deepEqual(next, { offset: 30, timestampMs: 1_000 });
    assert.equal((await reader.read('g', 29, 5)).length, 2);
  });
}

function registerLockTests(dir: () => string, openAdapter: OpenAdapter): void {
  it('refuses a second open of the same directory in this process until the first closes', async () => {
    const first = await openAdapter();
    await assert.rejects(new EmbeddedLogAdapter({ dir: dir() }).open(), /already open in this process/);
    await first.close();
    const second = await openAdapter();
    await second.append('g', range(1));
  });

  it('refuses to open a directory held by another live process, and takes over once it dies', async () => {
    const { child, ready } = spawnChild('hold-lock', dir());
    try {
      await ready;
      await assert.rejects(new EmbeddedLogAdapter({ dir: dir() }).open(), new RegExp(`locked by running process ${child.pid}`));
    } finally {
      await killAndWait(child);
    }
    const logger = captureLogger();
    await openAdapter({ logger });
    assert.ok(logger.lines.some((l) => l.msg?.includes('stale') && l.obj.stalePid === child.pid));
  });

  it('takes over a lock file left by a dead process', async () => {
    const done = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => done.once('exit', resolve));
    await writeFile(join(dir(), 'LOCK'), `${done.pid}\n`);
    const adapter = await openAdapter();
    await adapter.append('g', range(1));
    await adapter.close();
    assert.equal(existsSync(join(dir(), 'LOCK')), false, 'close releases the lock');
  });
}

function registerWritePathTests(dir: () => string, openAdapter: OpenAdapter, segmentPath: SegmentPath): void {
  it('group commit: concurrent appends share fsyncs, sequential ones do not', async () => {
    const adapter = await openAdapter();
    const before = adapter.stats.fsyncs;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => adapter.append('g', [expectedRecord(i)])));
    const concurrentFsyncs = adapter.stats.fsyncs - before;
    assert.ok(concurrentFsyncs <= 5, `200 concurrent appends took ${concurrentFsyncs} fsyncs`);
    assert.equal(new Set(results.map((r) => r[0]!.offset)).size, 200);
    const sequentialBefore = adapter.stats.fsyncs;
    for (let i = 0; i < 5; i++) await adapter.append('g', [expectedRecord(i)]);
    assert.equal(adapter.stats.fsyncs - sequentialBefore, 5);
    assert.equal(adapter.stats.recordsAppended, 205);
  });

  it('keeps timestamps non-decreasing when the clock steps back, also across a reopen', async () => {
    const ticks = [100, 200, 150, 50, 300];
    const adapter = await openAdapter({ clock: () => ticks.shift() ?? 0 });
    const results = await adapter.append('g', range(5));
    assert.deepEqual(results.map((r) => r.timestampMs), [100, 200, 200, 200, 300]);
    await adapter.close();
    const reopened = await openAdapter({ clock: () => 10 });
    const [next] = await reopened.append('g', range(1, 5));
    assert.equal(next!.timestampMs, 300);
  });

  it('rejects a record over the size limit with payload_too_large and appends nothing', async () => {
    const adapter = await openAdapter();
    await assert.rejects(adapter.append('g', [expectedRecord(0), { key: 'big', value: Buffer.alloc(RECORD_BYTES_MAX) }]), (err: unknown) => {
      assert.ok(err instanceof StrataError);
      assert.equal(err.code, 'payload_too_large');
      return true;
    });
    assert.equal(await adapter.endOffset('g'), 0);
  });

  it('rejects programmer errors with plain errors', async () => {
    const adapter = await openAdapter();
    await assert.rejects(adapter.read('g', -1, 1), /fromOffset/);
    await assert.rejects(adapter.read('g', 0, 1.5), /maxRecords/);
    await assert.rejects(adapter.append('g', [{ key: 'k', value: 'text' as unknown as Buffer }]), /Buffer/);
    assert.throws(() => new EmbeddedLogAdapter({ dir: dir(), segmentBytesMax: 3 }), /segmentBytesMax/);
    await adapter.close();
    await assert.rejects(adapter.append('g', range(1)), /not open/);
  });

  it('turns a failing disk (ENOSPC) into LogUnavailableError', async (t: TestContext) => {
    if (!existsSync('/dev/full')) {
      t.skip('/dev/full is not available on this system');
      return;
    }
    const setup = await openAdapter();
    await setup.ensureGraph('g');
    await setup.close();
    const log = segmentPath('g', FIRST_SEGMENT, 'log');
    await unlink(log);
    await symlink('/dev/full', log);
    const logger = captureLogger();
    const adapter = await openAdapter({ logger });
    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(adapter.append('g', range(1)), (err: unknown) => {
        assert.ok(err instanceof LogUnavailableError, String(err));
        assert.equal(err.retriable, true);
        assert.match(err.message, /ENOSPC/);
        return true;
      });
    }
    assert.equal(await adapter.endOffset('g'), 0);
  });
}

function registerCrashTest(dir: () => string, openAdapter: OpenAdapter): void {
  it('keeps every acknowledged record intact when the writer is SIGKILLed at a random moment', { timeout: 20_000 }, async () => {
    for (let round = 0; round < 3; round++) {
      const { child, lines, ready } = spawnChild('append-loop', dir());
      const acksBeforeKill = 100 + Math.floor(Math.random() * 400);
      try {
        await ready;
        await waitFor(() => lines.length >= acksBeforeKill, `${acksBeforeKill} acknowledged appends`);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
      } finally {
        await killAndWait(child);
      }
      const acked = lines.map((line) => line.split(' ').map(Number) as [number, number]);
      const adapter = await openAdapter({ segmentBytesMax: 16 * 1024 });
      const end = await adapter.endOffset('crash');
      const all = [];
      for (let next = 0; next < end; next = all.length) all.push(...(await adapter.read('crash', next, 1000)));
      assert.equal(all.length, end, 'offsets are dense after recovery');
      for (const record of all) {
        const i = Number(record.key!.slice(1));
        assert.ok(record.value.equals(expectedRecord(i).value), `record ${record.offset} is intact`);
      }
      for (const [offset, i] of acked) assert.equal(all[offset]?.key, `k${i}`, `acknowledged offset ${offset} survived (round ${round})`);
      await adapter.close();
    }
  });
}

const childMode = process.env.STRATA_EMBEDDED_CHILD;
if (childMode) await runChild(childMode, process.env.STRATA_EMBEDDED_DIR!);
else registerTests();
