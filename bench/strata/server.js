// Runs `strata start` (the real CLI) on a data directory as a child process, and measures restart to
// ready: from spawn until GET /readyz answers 200. Also reads the server's RSS from /proc.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export class StrataServer {
  constructor(child, port) {
    this.child = child;
    this.port = port;
    this.origin = `http://127.0.0.1:${port}`;
  }

  /**
   * `nodeArgs`: extra flags for the server's node (e.g. ['--cpu-prof'] to profile it). `onSpawn(server)`
   * runs once the child exists, before it is ready (e.g. to sample its RSS while it folds).
   */
  static async start(dataDir, { nodeArgs = [], onSpawn, env = {} } = {}) {
    const port = await freePort();
    const started = performance.now();
    // The default log level (info), as a user starts it: request lines are at debug, so reads log nothing.
    const child = spawn(process.execPath, [...nodeArgs, CLI, 'start', '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ...env },
    });
    const server = new StrataServer(child, port);
    onSpawn?.(server);
    process.once('exit', () => child.kill('SIGKILL'));
    for (;;) {
      if (child.exitCode !== null) throw new Error(`strata start exited with ${child.exitCode}`);
      try {
        const res = await request(`${server.origin}/readyz`);
        await res.body.dump();
        if (res.statusCode === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    server.readyMs = performance.now() - started;
    return server;
  }

  /** Resident set size of the server process (MiB). */
  rssMb() {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return kb / 1024;
  }

  async stop() {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
