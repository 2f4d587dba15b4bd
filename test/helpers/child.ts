// Real `strata` child processes for the torture, auth and load tests: start, wait for readiness, kill,
// run one-shot commands (`strata rebuild`), and keep their output to assert on log lines.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = join(REPO, 'dist/src/cli/main.js');

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  /** Every output line (stdout and stderr), in arrival order. */
  output: string[];
  exited: Promise<number | null>;
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(proc);
  const output: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    output.push(...lines.filter((l) => l !== ''));
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((r) =>
    proc.once('exit', (code) => {
      if (partial !== '') output.push(partial);
      running.delete(proc);
      r(code);
    }),
  );
  return { proc, output, exited };
}

export function startServer(port: number, dataDir: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Child {
  return spawnCli(['start', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs], env);
}

/** Runs a one-shot command to its end; returns its exit code and output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string[] }> {
  const child = spawnCli(args, env);
  const code = await child.exited;
  return { code, output: child.output };
}

export async function waitReady(base: string, child: Child, timeoutMs = 30_000, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`strata exited with ${child.proc.exitCode}:\n${child.output.slice(-30).join('\n')}`);
    try {
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000), headers });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`strata not ready after ${timeoutMs} ms:\n${child.output.slice(-30).join('\n')}`);
}

export async function kill(child: Child, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill(signal);
  await child.exited;
}
