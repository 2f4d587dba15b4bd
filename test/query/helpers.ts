// Shared harness of the query tests: a Strata on a temp dir (in-memory log: the engine under test is
// the query layer over RocksDB, not the log's fsync), and the whole slice listed through the public API.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogAdapter } from '../../src/broker-adapters/memory.js';
import type { Limits } from '../../src/core/limits.js';
import type { StrataDb } from '../../src/core/strata-api.js';
import { openStrata } from '../../src/strata.js';
import type { NaiveEntity } from './naive.js';

export async function withDb(fn: (db: StrataDb) => Promise<void>, limits: Partial<Limits> = {}): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-query-'));
  const db = await openStrata({ dataDir, broker: new MemoryLogAdapter(), limits });
  try {
    await fn(db);
  } finally {
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The whole slice at `basis`, listed through the public API (the naive evaluator's only input). */
export async function listSlice(db: StrataDb, graph: string, basis: number): Promise<NaiveEntity[]> {
  const page = await db.listEntities(graph, { where: [], limit: 1_000_000 }, basis);
  assert.equal(page.nextAfterId, null);
  return page.items.map((e) => ({ id: e.id, kind: e.kind, type: e.type, attrs: e.attrs, ...(e.kind === 'edge' ? { from: e.from, to: e.to } : {}) }));
}
