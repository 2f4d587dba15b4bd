// SQLite peer through better-sqlite3, in-process: the same temporal table as PostgreSQL (sql.js), WAL
// journal with synchronous=FULL so that a commit is durable before it returns, as Strata's appends are.

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIFF, ENTITY_AT, LIST_AT, SCHEMA, entityFromRows, txStatements } from './sql.js';

/** `$n` placeholders bind by name in better-sqlite3: { 1: …, 2: … }. */
function named(params) {
  const out = {};
  params.forEach((p, i) => (out[i + 1] = p));
  return out;
}

export class SqlitePeer {
  constructor(dir, db) {
    this.dir = dir;
    this.db = db;
    this.statements = new Map();
  }

  static open() {
    const dir = mkdtempSync(join(tmpdir(), 'strata-bench-sqlite-'));
    const db = new Database(join(dir, 'bench.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    for (const sql of SCHEMA) db.exec(sql);
    return new SqlitePeer(dir, db);
  }

  prepared(sql) {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** One SQLite transaction per workload tx, each durable (fsync) before the next starts. */
  ingest(txs, from, to) {
    const apply = this.db.transaction((off) => {
      for (const [sql, params] of txStatements(off, txs[off])) this.prepared(sql).run(named(params));
    });
    for (let off = from; off < to; off++) apply(off);
  }

  /** Bulk load for building big graphs (not measured as ingest): many txs per SQLite transaction. */
  bulk(txs, from, to) {
    const apply = this.db.transaction((a, b) => {
      for (let off = a; off < b; off++) for (const [sql, params] of txStatements(off, txs[off])) this.prepared(sql).run(named(params));
    });
    for (let i = from; i < to; i += 5000) apply(i, Math.min(to, i + 5000));
    this.db.exec('ANALYZE');
  }

  entity(id, off) {
    return entityFromRows(id, this.prepared(ENTITY_AT).all(named([id, off])));
  }

  list(type, off, limit) {
    return this.prepared(LIST_AT).all(named([type, off, limit]));
  }

  diff(a, b) {
    return this.prepared(DIFF).all(named([a, b]));
  }

  close() {
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
