// PostgreSQL 15 peer: a throwaway cluster (initdb in a temp dir, default settings, fsync on) on a free
// loopback port, the temporal table of sql.js, and the reads and writes a user would issue with `pg`.

import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runOrdered } from '../lib/schedule.js';
import { DIFF, ENTITY_AT, LIST_AT, SCHEMA, entityFromRows, txStatements } from './sql.js';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export function postgresAvailable() {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** PostgreSQL refuses to run as root: then the cluster belongs to the `postgres` system user. */
function asPgUser(cmd, args) {
  const root = process.getuid?.() === 0;
  return root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function run(cmd, args) {
  const [c, a] = asPgUser(cmd, args);
  execFileSync(c, a, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class PostgresCluster {
  constructor(dir, port) {
    this.dir = dir;
    this.port = port;
    this.stopped = false;
  }

  static async start() {
    const dir = mkdtempSync(join(tmpdir(), 'strata-bench-pg-'));
    const port = await freePort();
    const data = join(dir, 'data');
    const cluster = new PostgresCluster(dir, port);
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(dir, uid, gid);
    }
    // --no-sync only speeds up initdb itself; the server runs with default settings (fsync on).
    run(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'bench', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
    writeFileSync(join(dir, 'README'), 'throwaway cluster of the Strata benchmark; safe to delete\n');
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`;
    run(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
    // Stop the server whatever happens to this process (a crash, Ctrl-C): no cluster is left behind.
    process.once('exit', () => cluster.stopSync());
    return cluster;
  }

  stopSync() {
    if (this.stopped) return;
    this.stopped = true;
    const [c, a] = asPgUser(join(PG_BIN, 'pg_ctl'), ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    spawnSync(c, a, { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }

  async client() {
    const c = new pg.Client({ host: '127.0.0.1', port: this.port, user: 'bench', database: 'postgres' });
    await c.connect();
    return c;
  }

  async database(name) {
    const admin = await this.client();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const db = new PostgresPeer(this, name);
    const c = await db.connect();
    for (const sql of SCHEMA) await c.query(sql.replaceAll('TEXT', 'text'));
    await c.end();
    return db;
  }
}

/** One query text per tx: one round trip, as a performance-minded user would write it. */
function txSql(off, body) {
  const parts = ['BEGIN'];
  for (const [sql, params] of txStatements(off, body)) {
    parts.push(sql.replace(/\$(\d+)/g, (_, n) => literal(params[Number(n) - 1])));
  }
  parts.push('COMMIT');
  return parts.join(';\n');
}

function literal(v) {
  return typeof v === 'number' ? String(v) : pg.Client.prototype.escapeLiteral(String(v));
}

export class PostgresPeer {
  constructor(cluster, name) {
    this.cluster = cluster;
    this.name = name;
  }

  async connect() {
    const c = new pg.Client({ host: '127.0.0.1', port: this.cluster.port, user: 'bench', database: this.name });
    await c.connect();
    return c;
  }

  /** Loads txs [from, to) with `clients` concurrent connections, one SQL transaction per tx. */
  async ingest(txs, from, to, clients) {
    const conns = await Promise.all(Array.from({ length: clients }, () => this.connect()));
    await runOrdered(txs, from, to, conns, (c, off) => c.query(txSql(off, txs[off])));
    await Promise.all(conns.map((c) => c.end()));
  }

  /** Bulk load for building big graphs fast (not measured as ingest): many txs per SQL transaction. */
  async bulk(txs, from, to) {
    const c = await this.connect();
    for (let i = from; i < to; i += 500) {
      const parts = [];
      for (let off = i; off < Math.min(to, i + 500); off++) {
        for (const [sql, params] of txStatements(off, txs[off])) parts.push(sql.replace(/\$(\d+)/g, (_, n) => literal(params[Number(n) - 1])));
      }
      await c.query(`BEGIN;\n${parts.join(';\n')};\nCOMMIT`);
    }
    await c.query('ANALYZE');
    await c.end();
  }

  async analyze() {
    const c = await this.connect();
    await c.query('ANALYZE');
    await c.end();
  }

  /** A reader bound to one connection, with the reads as named (prepared) statements. */
  async reader() {
    const c = await this.connect();
    return {
      entity: async (id, off) => entityFromRows(id, (await c.query({ name: 'entity_at', text: ENTITY_AT, values: [id, off] })).rows),
      list: async (type, off, limit) => (await c.query({ name: 'list_at', text: LIST_AT, values: [type, off, limit] })).rows,
      diff: async (a, b) => (await c.query({ name: 'diff', text: DIFF, values: [a, b] })).rows,
      empty: async () => (await c.query({ name: 'empty', text: 'SELECT 1' })).rows,
      close: () => c.end(),
    };
  }
}
