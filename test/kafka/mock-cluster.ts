// Test broker for the Kafka tests: librdkafka's mock cluster (a Kafka wire-protocol broker made for client
// tests), run by mock-launcher.c — compiled with gcc on first use — and driven over its stdin.
// Without librdkafka-dev the Kafka suites skip with one line locally, and fail in CI (CI=true).

import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const LAUNCHER_SOURCE = fileURLToPath(new URL('../../../test/kafka/mock-launcher.c', import.meta.url));
const START_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;
const INSTALL_HINT = 'apt-get install librdkafka-dev kcat';

export type Launcher = { path: string } | { unavailable: string };

/** Compiles the launcher once per source version (shared by every test process), or says why it cannot. */
export async function prepareLauncher(): Promise<Launcher> {
  let source: Buffer;
  try {
    source = await readFile(LAUNCHER_SOURCE);
  } catch {
    return { unavailable: `launcher source missing at ${LAUNCHER_SOURCE}` };
  }
  const dir = join(tmpdir(), `strata-mock-launcher-${createHash('sha256').update(source).digest('hex').slice(0, 16)}`);
  const path = join(dir, 'mock-launcher');
  if (existsSync(path)) return { path };
  await mkdir(dir, { recursive: true });
  const building = `${path}.${process.pid}.tmp`;
  try {
    await promisify(execFile)('gcc', ['-O1', '-Wall', '-o', building, LAUNCHER_SOURCE, '-lrdkafka']);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { unavailable: 'gcc not found, so the librdkafka mock cluster launcher cannot be built' };
    const detail = String((err as { stderr?: unknown }).stderr ?? (err as Error).message).split('\n').find((l) => l.trim() !== '') ?? 'gcc failed';
    return { unavailable: `cannot build the librdkafka mock cluster launcher (${detail.trim()})` };
  }
  await rename(building, path); // atomic: concurrent test processes never run a half-written binary
  return { path };
}

/**
 * describe() for suites that need the mock cluster: skipped with one clear line when it cannot be built,
 * except in CI, where the missing packages are a failure (nothing is ever skipped silently there).
 */
export function kafkaSuite(name: string, launcher: Launcher, body: (launcherPath: string) => void): void {
  if ('path' in launcher) {
    describe(name, () => body(launcher.path));
    return;
  }
  const reason = `${launcher.unavailable}; install with: ${INSTALL_HINT}`;
  if (process.env.CI === 'true') {
    describe(name, () => it('has the librdkafka mock cluster (required in CI)', () => assert.fail(reason)));
    return;
  }
  describe(name, { skip: `kafka tests skipped: ${reason}` }, () => undefined);
}

export class MockCluster {
  private commands: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    private readonly stderr: { text: string },
    readonly bootstrap: string[],
  ) {}

  /** Starts a cluster of `brokerCount` brokers (ids 1..n) and waits for its bootstrap address. */
  static async start(launcherPath: string, brokerCount = 1): Promise<MockCluster> {
    const child = spawn(launcherPath, [String(brokerCount)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const stderr = { text: '' };
    child.stderr.on('data', (chunk: Buffer) => (stderr.text += chunk.toString()));
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('mock cluster did not start')), START_TIMEOUT_MS).unref());
    const first = await Promise.race([lines.next(), timeout]);
    if (first.done) throw new Error(`mock cluster exited at start: ${stderr.text}`);
    const match = /^bootstrap (\S+)$/.exec(first.value);
    if (!match) throw new Error(`unexpected first line from the mock cluster: ${first.value}`);
    return new MockCluster(child, lines, stderr, match[1]!.split(','));
  }

  /** Creates a topic with `partitions` partitions (the adapter's createTopics is refused by the mock). */
  createTopic(topic: string, partitions = 1): Promise<void> {
    return this.command(`topic ${topic} ${partitions}`);
  }

  /** Disconnects a broker (default: all) and refuses new connections until up(). */
  down(brokerId = -1): Promise<void> {
    return this.command(`down ${brokerId}`);
  }

  up(brokerId = -1): Promise<void> {
    return this.command(`up ${brokerId}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }

  /** Commands run one at a time; each gets exactly one reply line. */
  private command(line: string): Promise<void> {
    const run = this.commands.then(async () => {
      this.child.stdin.write(`${line}\n`);
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`mock cluster: no reply to "${line}"`)), COMMAND_TIMEOUT_MS).unref());
      const reply = await Promise.race([this.lines.next(), timeout]);
      if (reply.done) throw new Error(`mock cluster exited during "${line}": ${this.stderr.text}`);
      if (reply.value !== 'ok') throw new Error(`mock cluster: "${line}" failed: ${reply.value}`);
    });
    this.commands = run.catch(() => undefined);
    return run;
  }
}
